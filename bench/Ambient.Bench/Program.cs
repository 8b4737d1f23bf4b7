using Ambient.Bench.Micro;
using Ambient.Bench.Scenario;

// Ambient.Bench (see bench/README.md): `controlplane` runs the scenario and prints a table against the targets;
// `micro` runs the BenchmarkDotNet micro-benchmarks (further arguments go to BenchmarkDotNet); `verify` checks that
// the caches the scenario exercises change no output; `all` is what `make bench` runs.
var mode = args.Length > 0 ? args[0] : "";
var rest = args.Skip(1).ToArray();
try
{
    return mode switch
    {
        "controlplane" => await ControlPlaneScenario.RunAsync(ScenarioOptions.Parse(rest)),
        "micro" => MicroBenchmarks.Run(rest),
        "all" => await RunAllAsync(rest),
        "verify" => CacheVerifier.Run(rest),
        "clients" => await ClientSwarm.RunAsync(rest), // internal: the out-of-process clients of the memory measurement
        _ => Usage(),
    };
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"ambient-bench: {e.Message}");
    return Usage();
}

// `make bench`: the scenario and the micro-benchmarks with their defaults, then a short check that the builder's and
// the store's caches change nothing (last, so that the scenario's "first build in a fresh process" is one).
// A missed target is reported, not an error; a failed check is.
static async Task<int> RunAllAsync(string[] rest)
{
    if (rest.Length > 0)
        throw new ArgumentException("all takes no options; run controlplane, micro or verify for those");
    var scenario = await ControlPlaneScenario.RunAsync(new ScenarioOptions());
    Console.WriteLine();
    var micro = MicroBenchmarks.Run([]);
    Console.WriteLine();
    var verify = CacheVerifier.Run(["300"]);
    return scenario != 0 ? scenario : micro != 0 ? micro : verify;
}

static int Usage()
{
    Console.Error.WriteLine($"""
        usage: dotnet run -c Release --project bench/Ambient.Bench -- <mode>
          {ScenarioOptions.Usage.Replace("\n", "\n  ")}
          micro [BenchmarkDotNet arguments, e.g. --filter *Diff*]   (default: every benchmark, short job)
          verify [steps] [seed]   (random changes: a warm SnapshotBuilder must build exactly what a fresh one builds)
          all   (what `make bench` runs: controlplane and micro with their defaults, then verify 300)
        """);
    return 2;
}
