using System.Security.Cryptography;
using System.Text;
using Ambient.Identity;

namespace Ambient.ControlPlane.Ca;

/// <summary>
/// Accepts a token equal to the content of one file in the node credentials directory; the file's name is the
/// caller's node. Comparisons are constant-time, and every file is compared so timing does not reveal which one matched.
/// </summary>
public sealed class NodeCredentialAuthenticator(string directory) : ICaCallerAuthenticator
{
    /// <summary>Tokens are 43 characters; a file larger than this is not a credential.</summary>
    private const int MaxFileBytes = 4096;

    public string Directory { get; } = directory;

    public ValueTask<CaCaller?> AuthenticateAsync(string token, CancellationToken ct)
    {
        if (token.Length == 0 || !System.IO.Directory.Exists(Directory))
            return ValueTask.FromResult<CaCaller?>(null);
        var presented = Encoding.UTF8.GetBytes(token);
        string? node = null;
        foreach (var path in System.IO.Directory.EnumerateFiles(Directory))
        {
            var name = Path.GetFileName(path);
            if (!SpiffeId.IsKubernetesName(name))
                continue; // *.tmp while provisioning, editor leftovers
            byte[] content;
            try
            {
                if (new FileInfo(path).Length > MaxFileBytes)
                    continue;
                content = File.ReadAllBytes(path);
            }
            catch (IOException)
            {
                continue; // removed while we listed: revoked
            }
            var expected = content.AsSpan().TrimEnd("\r\n"u8);
            if (expected.Length > 0 && CryptographicOperations.FixedTimeEquals(expected, presented))
                node = name;
        }
        return ValueTask.FromResult(node is null ? null : new CaCaller($"node {node}", node, null));
    }
}
