namespace Ambient.Agent.Tests.Testing;

/// <summary>Root tests fail loudly without root: a silent skip would look like a pass.</summary>
public static class Root
{
    public static void Require()
    {
        if (Environment.UserName != "root" && !IsEuidZero())
        {
            throw new InvalidOperationException(
                "This test needs root (network namespaces, veth, iptables, SO_MARK). Run `sudo dotnet test tests/Ambient.Agent.Tests` " +
                "or `make test` as root. It is not skipped on purpose: a skipped data-path test looks like a pass.");
        }
    }

    private static bool IsEuidZero()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("Uid:", StringComparison.Ordinal))
                {
                    var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                    return parts.Length > 2 && parts[2] == "0";
                }
            }
        }
        catch (IOException)
        {
        }
        return false;
    }
}
