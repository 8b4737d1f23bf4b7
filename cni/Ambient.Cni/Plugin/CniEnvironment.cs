namespace Ambient.Cni.Plugin;

/// <summary>
/// The protocol parameters the runtime passes in CNI_* environment variables (CNI spec 1.1 §2 "Parameters").
/// Which are required depends on the command: ADD and CHECK need the container, netns and interface;
/// DEL may come without a netns (it is often gone by then); VERSION, STATUS and GC need none.
/// CNI_PATH is optional everywhere: ambient-cni never delegates to another plugin.
/// </summary>
internal sealed record CniEnvironment
{
    public required CniCommand Command { get; init; }
    public string ContainerId { get; init; } = "";
    public string Netns { get; init; } = "";
    public string IfName { get; init; } = "";
    public CniArgs Args { get; init; } = CniArgs.Empty;
    public string Path { get; init; } = "";

    /// <summary>Reads and validates the parameters; failures are code 4 (invalid environment variables).</summary>
    public static CniEnvironment Parse(Func<string, string?> getenv)
    {
        var commandText = getenv("CNI_COMMAND");
        if (string.IsNullOrEmpty(commandText))
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, "required env variables [CNI_COMMAND] missing",
                "ambient-cni is a CNI plugin: the container runtime runs it with CNI_COMMAND set; run `ambient-cni install --help` for the installer");
        }

        var command = commandText switch
        {
            "ADD" => CniCommand.Add,
            "DEL" => CniCommand.Del,
            "CHECK" => CniCommand.Check,
            "VERSION" => CniCommand.Version,
            "STATUS" => CniCommand.Status,
            "GC" => CniCommand.Gc,
            _ => throw new CniException(CniErrorCode.InvalidEnvironment, $"unknown CNI_COMMAND: {commandText}",
                "expected one of ADD, DEL, CHECK, VERSION, STATUS, GC"),
        };

        var containerId = getenv("CNI_CONTAINERID") ?? "";
        var netns = getenv("CNI_NETNS") ?? "";
        var ifName = getenv("CNI_IFNAME") ?? "";

        var missing = new List<string>(3);
        var perContainer = command is CniCommand.Add or CniCommand.Check or CniCommand.Del;
        if (perContainer && containerId.Length == 0) missing.Add("CNI_CONTAINERID");
        if (command is CniCommand.Add or CniCommand.Check && netns.Length == 0) missing.Add("CNI_NETNS");
        if (perContainer && ifName.Length == 0) missing.Add("CNI_IFNAME");
        if (missing.Count > 0)
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, $"required env variables [{string.Join(",", missing)}] missing");
        }

        if (perContainer)
        {
            ValidateContainerId(containerId);
            ValidateIfName(ifName);
        }

        return new CniEnvironment
        {
            Command = command,
            ContainerId = containerId,
            Netns = netns,
            IfName = ifName,
            Args = CniArgs.Parse(getenv("CNI_ARGS")),
            Path = getenv("CNI_PATH") ?? "",
        };
    }

    /// <summary>CNI spec 1.1: an alphanumeric, then alphanumerics, '_', '.' or '-'.</summary>
    internal static void ValidateContainerId(string id)
    {
        var ok = id.Length > 0 && char.IsAsciiLetterOrDigit(id[0]);
        for (var i = 1; ok && i < id.Length; i++)
        {
            var c = id[i];
            ok = char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-';
        }

        if (!ok)
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, $"invalid characters in CNI_CONTAINERID \"{id}\"",
                "a container id starts with a letter or digit, followed by letters, digits, '_', '.' or '-'");
        }
    }

    /// <summary>CNI spec 1.1 (Linux IFNAMSIZ): 1–15 bytes, not "." or "..", no '/', ':' or whitespace.</summary>
    internal static void ValidateIfName(string name)
    {
        string? reason = null;
        if (name.Length > 15) reason = "longer than 15 characters";
        else if (name is "." or "..") reason = "\".\" and \"..\" are not interface names";
        else
        {
            foreach (var c in name)
            {
                if (c is '/' or ':' || char.IsWhiteSpace(c))
                {
                    reason = "contains '/', ':' or whitespace";
                    break;
                }
            }
        }

        if (reason is not null)
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, $"invalid CNI_IFNAME \"{name}\": {reason}");
        }
    }
}
