using System.Net;
using Ambient.ControlPlane.Ca;
using Ambient.ControlPlane.Hosting;

namespace Ambient.ControlPlane.Tests.Ca;

/// <summary>The CA's flags: defaults, parsing and validation errors.</summary>
public sealed class CaCommandLineTests
{
    private static (int Exit, ControlPlaneCommand.Settings? Settings) Run(params string[] args)
    {
        ControlPlaneCommand.Settings? settings = null;
        var exit = ControlPlaneCommand.Create((s, _) =>
        {
            settings = s;
            return Task.FromResult(0);
        }).Parse(["--config-dir", "/tmp/none", .. args]).Invoke();
        return (exit, settings);
    }

    [Fact]
    public void ControlPlaneCommand_NoCaFlags_SecureListenerOn15012WithIstioDefaults()
    {
        var (exit, s) = Run();

        Assert.Equal(0, exit);
        var ca = s!.Ca;
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 15012), ca.SecureAddress);
        Assert.Equal(CaOptions.DefaultCaDir, ca.CaDir);
        Assert.Equal(TimeSpan.FromHours(24), ca.DefaultTtl);
        Assert.Equal(TimeSpan.FromDays(90), ca.MaxTtl);
        Assert.Equal([CaOptions.IstiodHostname], ca.ServingDnsNames);
        Assert.Null(ca.NodeCredentialsDir);
        Assert.Null(ca.CaCertPath);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 15010), s.Options.XdsAddress);
    }

    [Fact]
    public void ControlPlaneCommand_AllCaFlags_Parsed()
    {
        var (exit, s) = Run("--secure-address", "0.0.0.0:16012", "--secure-dns-name", "cp.example", "--ca-dir", "/tmp/ca",
            "--ca-cert", "/tmp/c.pem", "--ca-key", "/tmp/k.pem", "--ca-default-ttl", "12h", "--ca-max-ttl", "7d",
            "--node-credentials-dir", "/tmp/nodes", "--ca-trusted-node-account", "ambient/agent");

        Assert.Equal(0, exit);
        var ca = s!.Ca;
        Assert.Equal(new IPEndPoint(IPAddress.Any, 16012), ca.SecureAddress);
        Assert.Equal([CaOptions.IstiodHostname, "cp.example"], ca.ServingDnsNames);
        Assert.Equal(("/tmp/ca", "/tmp/c.pem", "/tmp/k.pem"), (ca.CaDir, ca.CaCertPath, ca.CaKeyPath));
        Assert.Equal((TimeSpan.FromHours(12), TimeSpan.FromDays(7)), (ca.DefaultTtl, ca.MaxTtl));
        Assert.Equal("/tmp/nodes", ca.NodeCredentialsDir);
        Assert.Equal(["ambient/agent"], ca.TrustedNodeAccounts);
    }

    [Fact]
    public void ControlPlaneCommand_SecureAddressNone_CaDisabled()
    {
        var (exit, s) = Run("--secure-address", "none");

        Assert.Equal(0, exit);
        Assert.Null(s!.Ca.SecureAddress);
    }

    [Fact]
    public void ControlPlaneCommand_SecureSocketWithSecureAddressNone_CaStillServed()
    {
        var (exit, s) = Run("--secure-address", "none", "--secure-socket", "/tmp/ca.sock");

        Assert.Equal(0, exit);
        Assert.Null(s!.Ca.SecureAddress);
        Assert.Equal("/tmp/ca.sock", s.Ca.SecureSocket);
        Assert.True(s.Ca.ServesTls);
    }

    [Fact]
    public void ControlPlaneCommand_NoSecureSocket_NoneByDefault()
    {
        var (_, s) = Run();

        Assert.Null(s!.Ca.SecureSocket);
        Assert.True(s.Ca.ServesTls);
        Assert.False(Run("--secure-address", "none").Settings!.Ca.ServesTls);
    }

    [Theory]
    [InlineData("--ca-cert", "/tmp/c.pem")]
    [InlineData("--ca-default-ttl", "24")]
    [InlineData("--ca-default-ttl", "-1h")]
    [InlineData("--ca-max-ttl", "1h")] // below the 24 h default
    [InlineData("--secure-address", "15012")]
    [InlineData("--secure-dns-name", "not a name")]
    [InlineData("--ca-trusted-node-account", "ztunnel")]
    public void ControlPlaneCommand_BadCaFlag_ExitCode2(string flag, string value)
    {
        var (exit, s) = Run(flag, value);

        Assert.Equal(2, exit);
        Assert.Null(s);
    }

    [Fact]
    public void ControlPlaneCommand_Help_DocumentsEveryCaFlag()
    {
        var output = new StringWriter();
        var command = ControlPlaneCommand.Create((_, _) => Task.FromResult(0));
        command.Parse(["--help"]).Invoke(new System.CommandLine.InvocationConfiguration { Output = output });

        foreach (var flag in new[] { "--secure-address", "--secure-socket", "--secure-dns-name", "--ca-dir", "--ca-cert", "--ca-key", "--ca-default-ttl", "--ca-max-ttl", "--node-credentials-dir", "--ca-trusted-node-account" })
            Assert.Contains(flag, output.ToString());
    }
}
