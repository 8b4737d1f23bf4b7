using System.Security.Cryptography;

namespace Ambient.Identity;

/// <summary>
/// Local mode's node credentials: <c>&lt;dir&gt;/&lt;node name&gt;</c> holds that node's bearer token (one line).
/// The local runner (<c>ambientctl local</c>) provisions one per node and hands the file to that node's agent only (its
/// <c>--ca-token-file</c>); the control plane reads the directory on each request, so adding or revoking a node needs no
/// restart. It lives here, not in the control plane, so the runner provisions without linking the control plane.
/// </summary>
public static class NodeCredentials
{
    /// <summary>256 random bits, base64url: unguessable and safe in a header.</summary>
    public static string NewToken() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The file holding <paramref name="node"/>'s token.</summary>
    public static string PathOf(string dir, string node) => Path.Combine(dir, node);

    /// <summary>Writes a fresh token for <paramref name="node"/> (file mode 0600) and returns it.</summary>
    public static string Provision(string dir, string node)
    {
        if (!SpiffeId.IsKubernetesName(node))
            throw new ArgumentException($"node name '{node}' must be a Kubernetes name", nameof(node));
        Directory.CreateDirectory(dir);
        var token = NewToken();
        var path = PathOf(dir, node);
        var tmp = path + ".tmp";
        File.Delete(tmp);
        var fso = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            fso.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(tmp, fso))
        using (var writer = new StreamWriter(stream))
            writer.Write(token + "\n");
        File.Move(tmp, path, overwrite: true);
        return token;
    }
}
