using Ambient.Agent.Hosting;
using Ambient.Agent.Identity;

namespace Ambient.Agent.Tests.Identity;

/// <summary><c>--ca-*</c>, <c>--cert-ttl</c>, <c>--trust-domain</c>: parsed into <see cref="IdentityOptions"/>, bad combinations named.</summary>
public sealed class IdentityFlagsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ambient-identity-flags-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Existing(string name)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, "x");
        return path;
    }

    private static (int Exit, AgentOptions? Options) Run(params string[] args)
    {
        AgentOptions? parsed = null;
        var exit = AgentCommand.Create((o, _) =>
        {
            parsed = o;
            return Task.FromResult(0);
        }).Parse(args).Invoke();
        return (exit, parsed);
    }

    [Fact]
    public void AgentCommand_NoCaFlags_IdentitiesDisabledWithIstioDefaults()
    {
        var (exit, o) = Run();

        Assert.Equal(0, exit);
        Assert.False(o!.Identity.Enabled);
        Assert.Equal((TimeSpan.FromHours(24), "cluster.local"), (o.Identity.CertTtl, o.Identity.TrustDomain));
    }

    [Fact]
    public void AgentCommand_CaSocketFlags_Parsed()
    {
        var root = Existing("root-cert.pem");
        var token = Existing("node-a");

        var (exit, o) = Run("--ca-socket", "/run/ca.sock", "--ca-root-cert", root, "--ca-token-file", token, "--cert-ttl", "12h", "--trust-domain", "example.org");

        Assert.Equal(0, exit);
        Assert.Equal(("/run/ca.sock", (string?)null, root, token, TimeSpan.FromHours(12), "example.org"),
            (o!.Identity.CaSocket, o.Identity.CaAddress, o.Identity.CaRootCert, o.Identity.CaTokenFile, o.Identity.CertTtl, o.Identity.TrustDomain));
        Assert.True(o.Identity.Enabled);
    }

    [Fact]
    public void AgentCommand_BadCombination_Exit2()
    {
        var root = Existing("root-cert.pem");
        var token = Existing("node-a");

        Assert.Equal(2, Run("--ca-address", "127.0.0.1:15012", "--ca-socket", "/s", "--ca-root-cert", root, "--ca-token-file", token).Exit);
        Assert.Equal(2, Run("--ca-socket", "/s", "--ca-token-file", token).Exit);
        Assert.Equal(2, Run("--ca-socket", "/s", "--ca-root-cert", root, "--ca-token-file", token, "--cert-ttl", "24").Exit);
    }

    [Theory]
    [InlineData("--ca-address", "--ca-socket")]
    [InlineData("--ca-root-cert is required", null)]
    [InlineData("--ca-token-file '", "missing")]
    [InlineData("--ca-address 'nohost'", "address")]
    [InlineData("--trust-domain 'Bad Domain'", "domain")]
    [InlineData("--ca-root-cert and --ca-token-file need", "orphan")]
    public void IdentityOptions_Invalid_ErrorNamesTheFlag(string expected, string? variant)
    {
        var root = Existing("root-cert.pem");
        var token = Existing("node-a");
        var options = variant switch
        {
            "--ca-socket" => new IdentityOptions { CaAddress = "127.0.0.1:15012", CaSocket = "/s", CaRootCert = root, CaTokenFile = token },
            null => new IdentityOptions { CaSocket = "/s", CaTokenFile = token },
            "missing" => new IdentityOptions { CaSocket = "/s", CaRootCert = root, CaTokenFile = Path.Combine(_dir, "nope") },
            "address" => new IdentityOptions { CaAddress = "nohost", CaRootCert = root, CaTokenFile = token },
            "domain" => new IdentityOptions { CaSocket = "/s", CaRootCert = root, CaTokenFile = token, TrustDomain = "Bad Domain" },
            _ => new IdentityOptions { CaRootCert = root, CaTokenFile = token },
        };

        var e = Assert.Throws<ArgumentException>(options.Validate);

        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void AgentCommand_Help_DocumentsEveryIdentityFlag()
    {
        var output = new StringWriter();
        AgentCommand.Create((_, _) => Task.FromResult(0)).Parse(["--help"]).Invoke(new System.CommandLine.InvocationConfiguration { Output = output });

        foreach (var flag in new[] { "--ca-address", "--ca-socket", "--ca-root-cert", "--ca-token-file", "--cert-ttl", "--trust-domain" })
            Assert.Contains(flag, output.ToString());
    }
}
