using System.Collections.Immutable;
using Ambient.ControlPlane.Model;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Ambient.ControlPlane.Sources;

/// <summary>What one manifest text held: the objects it defines, or every error found in it.</summary>
public sealed record ManifestParseResult(IReadOnlyList<KubeObject> Objects, IReadOnlyList<ManifestException> Errors)
{
    public bool Ok => Errors.Count == 0;
}

/// <summary>
/// Parses multi-document Kubernetes YAML (or JSON, which is YAML) into validated <see cref="KubeObject"/>s.
/// Kinds the mesh does not read (Deployment, ConfigMap, …) are skipped; a kind it reads but cannot
/// validate is an error naming file, line and field.
/// </summary>
public static class ManifestParser
{
    public static ManifestParseResult Parse(string source, string text)
    {
        var objects = new List<KubeObject>();
        var errors = new List<ManifestException>();
        var stream = new YamlStream();
        var parser = new LastMarkParser(new Parser(new StringReader(text)));
        try
        {
            stream.Load(parser);
        }
        catch (YamlException e)
        {
            errors.Add(new ManifestException(source, e.Start.Line, "(yaml)", e.InnerException?.Message ?? e.Message));
            return new(objects, errors);
        }
        catch (InvalidOperationException e)
        {
            // YamlDotNet throws this (not a YamlException) for some malformed input, e.g. "name: [web" followed
            // by a block mapping. It used to escape Parse and stop the file source's background service, taking
            // the control plane down over one typo. Report it where the parser had got to.
            errors.Add(new ManifestException(source, Math.Max(1, parser.Last.Line), "(yaml)", $"malformed YAML ({e.Message})"));
            return new(objects, errors);
        }

        foreach (var doc in stream.Documents)
        {
            var root = YamlCursor.Root(source, doc.RootNode);
            if (!root.Exists)
                continue; // an empty document between two '---' separators
            try
            {
                ParseObject(root, objects, errors);
            }
            catch (ManifestException e)
            {
                errors.Add(e);
            }
        }
        return new(objects, errors);
    }

    private static void ParseObject(YamlCursor doc, List<KubeObject> objects, List<ManifestException> errors)
    {
        if (doc.Node is not YamlMappingNode)
            throw doc.Error("a manifest document must be a mapping");
        var kind = doc["kind"].RequiredString();
        var apiVersion = doc["apiVersion"].RequiredString();
        if (kind == "List" || kind.EndsWith("List", StringComparison.Ordinal) && doc["items"].Exists)
        {
            foreach (var item in doc["items"].Items())
            {
                try
                {
                    ParseObject(item, objects, errors);
                }
                catch (ManifestException e)
                {
                    errors.Add(e);
                }
            }
            return;
        }

        KubeObject? obj = (kind, Group(apiVersion)) switch
        {
            ("Namespace", "") => new NamespaceObject(CoreObjectParser.Meta(doc, clusterScoped: true)),
            ("ServiceAccount", "") => new ServiceAccountObject(CoreObjectParser.Meta(doc, clusterScoped: false)),
            ("Pod", "") => CoreObjectParser.Pod(doc),
            ("Service", "") => CoreObjectParser.Service(doc),
            ("AuthorizationPolicy", "security.istio.io") => SecurityObjectParser.AuthorizationPolicy(doc),
            ("PeerAuthentication", "security.istio.io") => SecurityObjectParser.PeerAuthentication(doc),
            // The node agent's redirection feedback in file mode (see PodAnnotationsObject).
            ("PodAnnotations", PodAnnotationsObject.ApiGroup) => new PodAnnotationsObject(CoreObjectParser.Meta(doc, clusterScoped: false)),
            _ => null,
        };
        if (obj is not null)
            objects.Add(obj);
    }

    /// <summary>Remembers where the last parsed event ended, to place errors YamlDotNet reports without a position.</summary>
    private sealed class LastMarkParser(IParser inner) : IParser
    {
        public Mark Last { get; private set; } = Mark.Empty;

        public ParsingEvent? Current => inner.Current;

        public bool MoveNext()
        {
            var more = inner.MoveNext();
            if (inner.Current is { } e)
                Last = e.End;
            return more;
        }
    }

    private static string Group(string apiVersion)
    {
        var slash = apiVersion.IndexOf('/');
        return slash < 0 ? "" : apiVersion[..slash];
    }

    internal static ImmutableArray<T> ToImmutable<T>(this IEnumerable<T> items) => [.. items];
}
