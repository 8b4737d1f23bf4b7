using System.Net;
using System.Text;
using Ambient.Agent.InPod;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Ambient.Agent.State;

/// <summary>Istio's capture feedback annotation and its values (protocol-facts §d).</summary>
public static class RedirectionAnnotation
{
    public const string Key = "ambient.istio.io/redirection";

    /// <summary>The annotation value for a status; null means "remove the annotation".</summary>
    public static string? ValueOf(RedirectionStatus status) => status switch
    {
        RedirectionStatus.Enabled => "enabled",
        RedirectionStatus.Pending => "pending",
        _ => null,
    };
}

/// <summary>
/// Local (file) mode: writes the pod's redirection annotation as an <c>ambient.dev/v1alpha1 PodAnnotations</c> manifest
/// into a status directory the control plane watches (<c>--config-dir</c> given twice); the control plane lays it over
/// the pod, so the workload gets <c>tunnel_protocol: HBONE</c>. Writes are atomic (a dot-file the control plane ignores,
/// renamed into place); <see cref="RedirectionStatus.Disabled"/> removes the file.
/// </summary>
public sealed class FileRedirectionReporter(string statusDirectory) : IRedirectionReporter
{
    public string StatusDirectory { get; } = Path.GetFullPath(statusDirectory);

    /// <summary><c>&lt;ns&gt;_&lt;name&gt;.yaml</c>: '_' appears in neither a namespace nor a pod name, so names never collide.</summary>
    public string PathOf(PodRef pod) => Path.Combine(StatusDirectory, $"{pod.Namespace}_{pod.Name}.yaml");

    public async Task ReportAsync(PodRef pod, RedirectionStatus status, CancellationToken cancellationToken)
    {
        var path = PathOf(pod);
        if (RedirectionAnnotation.ValueOf(status) is not { } value)
        {
            File.Delete(path); // no error when it does not exist
            return;
        }
        Directory.CreateDirectory(StatusDirectory);
        var temp = Path.Combine(StatusDirectory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            await File.WriteAllTextAsync(temp, Manifest(pod, value), cancellationToken).ConfigureAwait(false);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    public static string Manifest(PodRef pod, string value) => new StringBuilder()
        .Append("# Written by ambient-agent: the pod's capture state, merged into the pod by the control plane.\n")
        .Append("apiVersion: ambient.dev/v1alpha1\n")
        .Append("kind: PodAnnotations\n")
        .Append("metadata:\n")
        .Append("  name: ").Append(pod.Name).Append('\n')
        .Append("  namespace: ").Append(pod.Namespace).Append('\n')
        .Append("  annotations:\n")
        .Append("    ").Append(RedirectionAnnotation.Key).Append(": \"").Append(value).Append("\"\n")
        .ToString();
}

/// <summary>
/// Kubernetes mode, as istio-cni does it (protocol-facts §d step 6): a JSON merge patch of the annotation on the
/// <c>pods/status</c> subresource (so the agent needs <c>patch</c> on <c>pods/status</c> only, not on pods);
/// <see cref="RedirectionStatus.Disabled"/> patches it to null (removal). Removing it from a pod that is already gone
/// is not an error.
/// </summary>
public sealed class KubernetesRedirectionReporter(IKubernetes client) : IRedirectionReporter
{
    public async Task ReportAsync(PodRef pod, RedirectionStatus status, CancellationToken cancellationToken)
    {
        var patch = new V1Patch(PatchBody(status), V1Patch.PatchType.MergePatch);
        try
        {
            await client.CoreV1.PatchNamespacedPodStatusAsync(patch, pod.Name, pod.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound && status == RedirectionStatus.Disabled)
        {
        }
    }

    /// <summary><c>{"metadata":{"annotations":{"ambient.istio.io/redirection":"enabled"}}}</c>, or <c>null</c> to remove it.</summary>
    public static string PatchBody(RedirectionStatus status) =>
        "{\"metadata\":{\"annotations\":{\"" + RedirectionAnnotation.Key + "\":"
        + (RedirectionAnnotation.ValueOf(status) is { } value ? "\"" + value + "\"" : "null") + "}}}";
}
