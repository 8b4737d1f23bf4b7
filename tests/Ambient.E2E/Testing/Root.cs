namespace Ambient.E2E.Testing;

/// <summary>E2E tests need root (network namespaces, iptables, CNI plugins). Without it they fail loudly: a skip looks like a pass.</summary>
public static class Root
{
    public static void Require()
    {
        if (!IsRoot())
        {
            throw new InvalidOperationException(
                "The E2E tests need root: they build a real mesh in network namespaces with iptables and CNI plugins. " +
                "Run them as root (`make test`, or `sudo dotnet test tests/Ambient.E2E`). They are never skipped: a skipped E2E test looks like a pass.");
        }
    }

    private static bool IsRoot()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("Uid:", StringComparison.Ordinal))
                {
                    // Uid: real effective saved fs
                    var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                    return parts.Length > 2 && parts[2] == "0";
                }
            }
        }
        catch (IOException)
        {
        }
        return Environment.UserName == "root";
    }
}
