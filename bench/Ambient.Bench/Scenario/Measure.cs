using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Ambient.Bench.Scenario;

/// <summary>A set of samples in milliseconds.</summary>
public sealed class Samples(string name)
{
    private readonly List<double> _ms = [];

    public string Name { get; } = name;
    public int Count => _ms.Count;
    public IReadOnlyList<double> Values => _ms;

    public void Add(double ms) => _ms.Add(ms);

    public void AddTicks(long stopwatchTicks) => _ms.Add(Ms(stopwatchTicks));

    public double Median => Percentile(50);
    public double P90 => Percentile(90);
    public double Max => _ms.Count == 0 ? double.NaN : _ms.Max();
    public double Min => _ms.Count == 0 ? double.NaN : _ms.Min();

    /// <summary>Nearest-rank percentile (p90 of 20 samples is the 18th smallest).</summary>
    public double Percentile(double p)
    {
        if (_ms.Count == 0)
            return double.NaN;
        var sorted = _ms.Order().ToArray();
        if (p == 50 && sorted.Length % 2 == 0)
            return (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        var rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    public static double Ms(long stopwatchTicks) => stopwatchTicks * 1000.0 / Stopwatch.Frequency;
}

/// <summary>Process memory as Linux reports it (/proc/PID/status), in MiB.</summary>
public static class ProcMemory
{
    public static (double RssMiB, double PeakMiB) Read(string pid = "self")
    {
        double rss = double.NaN, hwm = double.NaN;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                rss = Kb(line) / 1024.0;
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                hwm = Kb(line) / 1024.0;
        }
        return (rss, hwm);
    }

    private static long Kb(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);

    /// <summary>Full, blocking, compacting collection (LOH included), twice around finalizers.</summary>
    public static void FullGc()
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    }
}

/// <summary>A plain-text table with aligned columns.</summary>
public sealed class TextTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public void Row(params string[] cells) => _rows.Add(cells);

    public override string ToString()
    {
        var widths = headers.Select((h, i) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => i < r.Length ? r[i].Length : 0))).ToArray();
        var sb = new StringBuilder();
        void Line(IReadOnlyList<string> cells)
        {
            sb.Append('|');
            for (var i = 0; i < widths.Length; i++)
            {
                var c = i < cells.Count ? cells[i] : "";
                sb.Append(' ').Append(i == 0 || i == 1 ? c.PadRight(widths[i]) : c.PadLeft(widths[i])).Append(" |");
            }
            sb.Append('\n');
        }
        Line(headers);
        sb.Append('|');
        foreach (var w in widths)
            sb.Append(new string('-', w + 2)).Append('|');
        sb.Append('\n');
        foreach (var r in _rows)
            Line(r);
        return sb.ToString();
    }
}

/// <summary>This process's memory after a full GC: RSS, peak RSS, and the managed heap by generation.</summary>
public sealed record MemoryFigures(double RssMiB, double PeakMiB, double ManagedMiB, double[] GenerationMiB)
{
    /// <summary>Resets VmHWM so that the next reading's peak covers only what follows (Linux ≥ 4.0).</summary>
    public static void ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    public static MemoryFigures AfterFullGc()
    {
        ProcMemory.FullGc();
        var (rss, peak) = ProcMemory.Read();
        var gens = GC.GetGCMemoryInfo(GCKind.Any).GenerationInfo.ToArray().Select(g => g.SizeAfterBytes / 1048576.0).ToArray();
        return new MemoryFigures(rss, peak, GC.GetTotalMemory(false) / 1048576.0, gens);
    }

    public override string ToString() =>
        $"RSS {RssMiB:F0} MiB (peak {PeakMiB:F0}), managed {ManagedMiB:F0} MiB: "
        + string.Join(", ", GenerationMiB.Select((g, i) => $"{(i < 3 ? $"gen{i}" : i == 3 ? "LOH" : "POH")} {g:F0}"));
}
