using Ambient.Net.Redirection;

namespace Ambient.Agent.InPod;

/// <summary>Capture settings.</summary>
public sealed class InPodOptions
{
    /// <summary>
    /// How long a CNI ADD waits for the pod to become known before failing (fail closed; the runtime retries the
    /// sandbox). Kept well under the plugin's 5 s request timeout.
    /// </summary>
    public TimeSpan EnrollmentWait { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>After re-adopting persisted pods, how long to wait for each pod's enrollment to re-confirm.</summary>
    public TimeSpan AdoptionVerifyWait { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Deadline for one <see cref="IRedirectionReporter"/> call; a slow reporter never delays capture longer.</summary>
    public TimeSpan ReportTimeout { get; set; } = TimeSpan.FromSeconds(2);

    public InPodRuleOptions Rules { get; set; } = InPodRuleOptions.Default;
}
