using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Ambient.Hbone.Tests;

/// <summary>Against python-h2 (an independent HTTP/2 and HPACK implementation, Huffman-coding its headers).</summary>
public class InteropTests
{
    private const string Python = "/usr/bin/python3";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static string Script(string name) => Path.Combine(AppContext.BaseDirectory, "interop", name);

    private static string TempDir(string test) => Directory.CreateTempSubdirectory($"hbone-{test}-").FullName;

    [Fact]
    public async Task OurClient_PythonH2Server_ConnectEchoAndHuffmanHeaders()
    {
        var serverId = TestPki.Default.Issue(TestPki.Id("python-server"));
        var pem = TestPki.Default.WritePem(serverId, TempDir("pyserver"));
        using var process = Process.Start(new ProcessStartInfo(Python, [Script("h2_connect_server.py"), pem.Cert, pem.Key, pem.Ca])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        try
        {
            var port = int.Parse((await process.StandardOutput.ReadLineAsync().WaitAsync(Timeout))!);
            await using var client = new LoopbackClient(new IPEndPoint(IPAddress.Loopback, port), [serverId.Identity]);
            await using var stream = await client.ConnectAsync().WaitAsync(Timeout);
            Assert.Equal(200, stream.StatusCode);
            Assert.Contains(stream.ResponseHeaders, h => h.Key == "baggage" && h.Value == "k8s.namespace.name=python-ns,service.name=echo");

            var payload = new byte[3 * 1024 * 1024]; // several windows' worth at python's 64 KiB defaults
            new Random(7).NextBytes(payload);
            var reader = stream.ReadToEndAsync();
            await stream.WriteAsync(payload).AsTask().WaitAsync(Timeout);
            await stream.CompleteWritesAsync();
            var echoed = await reader.WaitAsync(Timeout);
            Assert.True(payload.AsSpan().SequenceEqual(echoed));
        }
        finally
        {
            process.Kill();
        }
    }

    [Fact]
    public async Task PythonH2Client_OurServer_ConnectEchoedAndGetRefusedWith400()
    {
        int handled = 0;
        await using var server = new LoopbackServer(new DelegateHandler(async (req, ct) =>
        {
            Interlocked.Increment(ref handled);
            Assert.Equal("python", req.Header("baggage")?.Split('=')[1]);
            await DelegateHandler.Echo().HandleAsync(req, ct);
        }));
        var clientId = TestPki.Default.Issue(TestPki.Id("python-client"));
        var pem = TestPki.Default.WritePem(clientId, TempDir("pyclient"));
        var output = await RunPythonClient(server.EndPoint.Port, pem, "10.0.0.5:80");
        Assert.Contains("1 200 ping-from-python", output);
        Assert.Contains("3 400 ", output);
        Assert.Equal(1, handled); // the GET never reached the handler
    }

    [Fact]
    public async Task GarbageAndBadPreface_ServerClosesCleanly_NextClientWorks()
    {
        await using var server = new LoopbackServer(DelegateHandler.Echo());
        var id = TestPki.Default.Issue(TestPki.Id("garbage"));

        // Bad preface (an HTTP/1.1 request) and then random frames after a good preface.
        var badPreface = Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        byte[] badFrames = [.. Encoding.ASCII.GetBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 0, 0, 8, 0xFF, 0, 0, 0, 0, 1, 1, 2, 3, .. Enumerable.Repeat((byte)0xEE, 64)];
        foreach (var junk in new[] { badPreface, badFrames })
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(server.EndPoint);
            var session = await HboneTls.AuthenticateAsClientAsync(new NetworkStream(socket, true), id, TestPki.Default.Bundle, [server.Identity.Identity], CancellationToken.None);
            await session.Stream.WriteAsync(junk);
            // The server answers (SETTINGS, GOAWAY) and closes: reading reaches EOF rather than hanging.
            var buffer = new byte[4096];
            var read = Task.Run(async () => { try { while (await session.Stream.ReadAsync(buffer) > 0) { } } catch (IOException) { } });
            await read.WaitAsync(Timeout);
            await session.Stream.DisposeAsync();
        }
        await Task.WhenAll(server.ServeTasks.Take(2)).WaitAsync(Timeout);
        Assert.All(server.ServeTasks.Take(2), t => Assert.True(t.IsCompletedSuccessfully));

        await using var client = new LoopbackClient(server);
        await using var stream = await client.ConnectAsync().WaitAsync(Timeout);
        await stream.WriteAsync("ok"u8.ToArray());
        await stream.CompleteWritesAsync();
        Assert.Equal("ok", Encoding.ASCII.GetString(await stream.ReadToEndAsync().WaitAsync(Timeout)));
    }

    private static async Task<string> RunPythonClient(int port, (string Cert, string Key, string Ca) pem, string authority)
    {
        using var process = Process.Start(new ProcessStartInfo(Python, [Script("h2_connect_client.py"), port.ToString(), pem.Cert, pem.Key, pem.Ca, authority])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(Timeout);
        Assert.True(process.ExitCode == 0, await stderr);
        return await stdout;
    }
}
