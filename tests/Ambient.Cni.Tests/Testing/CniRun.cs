namespace Ambient.Cni.Tests.Testing;

/// <summary>What one run of the binary did.</summary>
public sealed record CniRun(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
{
    public override string ToString() => $"exit {ExitCode} after {Elapsed.TotalMilliseconds:0.0} ms\nstdout: {Stdout}\nstderr: {Stderr}";
}
