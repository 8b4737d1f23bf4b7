using System.Runtime.InteropServices;

namespace Ambient.Cni.Installer;

/// <summary>
/// <c>ambient-cni install|uninstall [flags]</c>: exit 0 when done, 1 when it could not be done (the
/// message says what to check), 2 on a usage error. SIGTERM (the DaemonSet pod stopping) ends a wait.
/// </summary>
internal static class InstallerCommand
{
    public static bool IsInstallerVerb(string arg) => arg is "install" or "uninstall" or "--help" or "-h" or "help";

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (args[0] is "--help" or "-h" or "help" || args.Skip(1).Any(a => a is "--help" or "-h"))
        {
            stdout.WriteLine(InstallerOptions.Usage);
            return 0;
        }

        InstallerOptions options;
        try
        {
            options = InstallerOptions.Parse(args);
        }
        catch (InstallerException e)
        {
            stderr.WriteLine($"ambient-cni {args[0]}: {e.Message}");
            stderr.WriteLine(InstallerOptions.Usage);
            return 2;
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            cts.Cancel();
        });

        var installer = new CniInstaller(options, stdout, TimeProvider.System);
        try
        {
            if (options.Uninstall)
            {
                installer.Uninstall();
            }
            else
            {
                await installer.InstallAsync(cts.Token).ConfigureAwait(false);
            }

            return 0;
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            stderr.WriteLine($"ambient-cni {args[0]}: stopped before it finished");
            return 1;
        }
        catch (Exception e) when (e is InstallerException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"ambient-cni {args[0]}: {e.Message}");
            return 1;
        }
    }
}
