using Ambient.Bench.Micro;
using Ambient.Bench.Scenario;

// Ambient.Bench: `controlplane` runs the scenario and prints a table against the targets;
// `micro` runs the BenchmarkDotNet micro-benchmarks (any further arguments go to BenchmarkDotNet).
var mode = args.Length > 0 ? args[0] : "";
var rest = args.Skip(1).ToArray();
try
{
    return mode switch
    {
        "controlplane" => await ControlPlaneScenario.RunAsync(ScenarioOptions.Parse(rest)),
        "micro" => MicroBenchmarks.Run(rest),
        _ => Usage(),
    };
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"ambient-bench: {e.Message}");
    return Usage();
}

static int Usage()
{
    Console.Error.WriteLine($"""
        usage: dotnet run -c Release --project bench/Ambient.Bench -- <mode>
          {ScenarioOptions.Usage.Replace("\n", "\n  ")}
          micro [BenchmarkDotNet arguments, e.g. --filter *Diff*]   (default: every benchmark, short job)
        """);
    return 2;
}
