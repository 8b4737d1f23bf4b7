using System.Collections.Immutable;
using Ambient.ControlPlane.Model;
using BenchmarkDotNet.Attributes;

namespace Ambient.Bench.Micro;

[MemoryDiagnoser]
public class ScratchBenchmarks
{
    private MeshFixture _mesh = null!;
    private ServiceObject[] _svcs = null!;
    private PodObject[] _pods = null!;

    [GlobalSetup]
    public void Setup()
    {
        _mesh = new MeshFixture();
        _svcs = _mesh.A.Services.ToArray();
        _pods = _mesh.A.Pods.ToArray();
    }

    [Benchmark]
    public int Matches100k()
    {
        var n = 0;
        for (var s = 0; s < 1000; s++)
        {
            var svc = _svcs[s];
            var ns = s / 10;
            for (var p = ns * 100; p < ns * 100 + 100; p++)
                if (Selectors.Matches(svc.Selector!, _pods[p].Meta.Labels)) n++;
        }
        return n;
    }

    [Benchmark]
    public int PodsByNs()
    {
        var podsByNs = _mesh.A.Pods.Where(p => !p.Finished && !p.PodIPs.IsDefaultOrEmpty).GroupBy(p => p.Meta.Namespace)
            .ToDictionary(g => g.Key, g => g.OrderBy(p => p.Meta.Name, StringComparer.Ordinal).ToArray(), StringComparer.Ordinal);
        return podsByNs.Count;
    }

    [Benchmark]
    public int KeyLookups()
    {
        var d = new Dictionary<ObjectKey, int>(10000);
        foreach (var p in _pods) d[p.Key] = 1;
        var n = 0;
        foreach (var p in _pods) if (d.TryGetValue(p.Key, out _)) n++;
        return n;
    }
}
