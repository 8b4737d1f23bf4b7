using System.Diagnostics;
using System.Globalization;

namespace Ambient.Bench.Scenario;

/// <summary>
/// N delta clients in a process of their own (<c>Ambient.Bench clients --address URL --count N</c>), so that a
/// control plane's memory can be measured without the clients' buffers in its heap. Prints
/// <c>READY &lt;addresses&gt; &lt;authorizations&gt;</c> once every client holds its initial snapshot, then stays
/// connected until its standard input closes.
/// </summary>
public static class ClientSwarm
{
    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        Uri? address = null;
        var count = 100;
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--address" when i + 1 < args.Count: address = new Uri(args[++i]); break;
                case "--count" when i + 1 < args.Count: count = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"clients: unexpected {args[i]}");
            }
        }
        if (address is null)
            throw new ArgumentException("clients: --address is required");
        var board = new ProbeBoard();
        var clients = await Task.WhenAll(Enumerable.Range(0, count).Select(i => DeltaClient.ConnectAsync(i, address, board)));
        try
        {
            await Task.WhenAll(clients.Select(c => c.Initial)).WaitAsync(TimeSpan.FromMinutes(5));
            Console.WriteLine($"READY {clients[0].InitialAddresses} {clients[0].InitialAuthorizations}");
            await Console.In.ReadToEndAsync(); // until the parent closes our stdin (or kills us)
            return 0;
        }
        finally
        {
            await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()));
        }
    }

    /// <summary>Starts this benchmark again as a client swarm against <paramref name="address"/>.</summary>
    public static async Task<Process> StartAsync(Uri address, int count, TimeSpan timeout)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("cannot find this process's executable");
        var psi = new ProcessStartInfo(self) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
            psi.ArgumentList.Add(typeof(ClientSwarm).Assembly.Location);
        foreach (var a in new[] { "clients", "--address", address.ToString(), "--count", count.ToString(CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start the client swarm");
        var line = await p.StandardOutput.ReadLineAsync().WaitAsync(timeout);
        if (line is null || !line.StartsWith("READY", StringComparison.Ordinal))
        {
            p.Kill();
            throw new InvalidOperationException($"the client swarm did not sync: {line ?? "(exited)"}");
        }
        return p;
    }

    public static async Task StopAsync(Process p)
    {
        try
        {
            p.StandardInput.Close();
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            p.Kill();
        }
        p.Dispose();
    }
}
