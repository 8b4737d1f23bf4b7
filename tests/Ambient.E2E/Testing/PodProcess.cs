using System.Diagnostics;

namespace Ambient.E2E.Testing;

/// <summary>A process in a pod's netns for the length of a test (an extra server), killed by PID on dispose.</summary>
public sealed class PodProcess : IDisposable
{
    /// <summary>A TCP echo server on port 9090, one thread per connection.</summary>
    public const string EchoServer = "import socket,threading\n" +
        "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 9090)); s.listen(8)\n" +
        "def serve(c):\n  while True:\n    d=c.recv(4096)\n    if not d: break\n    c.sendall(d)\n  c.close()\n" +
        "while True:\n  c,_=s.accept(); threading.Thread(target=serve,args=(c,),daemon=True).start()\n";

    public const int EchoPort = 9090;

    private readonly Process _process;

    public PodProcess(string netns, params string[] command)
    {
        var psi = new ProcessStartInfo("nsenter") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { $"--net={netns}", "--" }.Concat(command))
            psi.ArgumentList.Add(a);
        _process = Process.Start(psi) ?? throw new InvalidOperationException("cannot start " + string.Join(' ', command));
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>
    /// A Python client script: one connection to <paramref name="ip"/>:9090, <paramref name="rounds"/> echoed lines 0.5 s
    /// apart; exits non-zero naming the round when the connection breaks, prints "N round trips" when it lasted.
    /// </summary>
    public static string EchoClient(string ip, int rounds) =>
        $"import socket,sys,time\nc=socket.create_connection(('{ip}', {EchoPort}), timeout=5)\n" +
        $"for i in range({rounds}):\n  m=('ping %d\\n' % i).encode()\n  try:\n    c.sendall(m); got=b''\n" +
        "    while len(got) < len(m):\n      d=c.recv(64)\n      if not d: sys.exit('closed by peer after %d round trips' % i)\n      got+=d\n" +
        "  except OSError as e: sys.exit('broken after %d round trips: %s' % (i, e))\n" +
        $"  if got != m: sys.exit('bad echo %r' % got)\n  time.sleep(0.5)\nprint('{rounds} round trips')\n";

    /// <summary>
    /// One echoed line: a bare connect would prove nothing, since the source agent accepts the app's connection before
    /// the tunnel to the destination exists.
    /// </summary>
    public static string EchoProbe(string ip) =>
        $"import socket,sys\nc=socket.create_connection(('{ip}', {EchoPort}), timeout=3)\nc.sendall(b'probe\\n')\n" +
        "sys.exit(0 if c.recv(64) == b'probe\\n' else 'no echo')\n";

    public void Dispose()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}
