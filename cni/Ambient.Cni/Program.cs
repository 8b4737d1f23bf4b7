using Ambient.Cni.Installer;
using Ambient.Cni.Plugin;

// ambient-cni: one NativeAOT binary, two roles.
//   ambient-cni install|uninstall …   the node installer: copies this binary into the CNI bin dir and
//                                     chains its entry into the primary CNI config (Installer/).
//   anything else                     the chained CNI plugin the container runtime execs with CNI_COMMAND
//                                     set (Plugin/); without CNI_COMMAND it answers with error code 4.
if (args.Length > 0 && InstallerCommand.IsInstallerVerb(args[0]))
{
    return await InstallerCommand.RunAsync(args, Console.Out, Console.Error, CancellationToken.None);
}

var plugin = new CniPlugin(
    Environment.GetEnvironmentVariable,
    Console.OpenStandardInput(),
    Console.OpenStandardOutput(),
    Console.Error,
    stdinRedirected: Console.IsInputRedirected);
return await plugin.RunAsync();
