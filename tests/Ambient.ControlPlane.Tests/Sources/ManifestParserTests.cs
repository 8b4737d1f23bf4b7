using Ambient.ControlPlane.Model;
using Ambient.ControlPlane.Sources;

namespace Ambient.ControlPlane.Tests.Sources;

/// <summary>
/// ManifestParser: every rejection names file, line and field path, so a user can fix a manifest from the log
/// line alone; kinds the mesh does not read are skipped; one bad document does not hide the others' errors.
/// </summary>
public sealed class ManifestParserTests
{
    private const string ServiceHeader = """
        apiVersion: v1
        kind: Service
        metadata:
          name: web
        spec:
          selector:
            app: web

        """;

    private static ManifestException SingleError(string yaml, string file = "test.yaml")
    {
        var result = ManifestParser.Parse(file, yaml);
        Assert.False(result.Ok);
        var e = Assert.Single(result.Errors);
        Assert.Equal(file, e.File);
        Assert.Equal($"{e.File}:{e.Line}: {e.Field}: {e.Reason}", e.Message);
        return e;
    }

    private static string Pod(string name = "p", string ip = "10.244.0.1") => $"""
        apiVersion: v1
        kind: Pod
        metadata:
          name: {name}
          namespace: ns
        spec:
          containers:
          - name: c
            image: c
        status:
          podIPs:
          - ip: {ip}

        """;

    [Fact]
    public void Parse_PortOutOfRange_ErrorNamesFileLineAndFieldPath()
    {
        var yaml = ServiceHeader + """
              ports:
              - name: http
                port: 80
              - name: admin
                port: 99999
            """;
        Assert.Equal("svc.yaml:12: spec.ports[1].port: 99999 is out of range 1-65535", SingleError(yaml, "svc.yaml").Message);
    }

    [Fact]
    public void Parse_ValidService_ReadsEveryField()
    {
        var yaml = ServiceHeader + """
              clusterIPs: [10.96.0.1, "fd00::1"]
              ipFamilies: [IPv4, IPv6]
              internalTrafficPolicy: Local
              trafficDistribution: PreferClose
              publishNotReadyAddresses: true
              ports:
              - name: http
                port: 80
                targetPort: web
                appProtocol: http
              - port: 53
                protocol: UDP
            """;
        var result = ManifestParser.Parse("svc.yaml", yaml);
        Assert.True(result.Ok, string.Join("\n", result.Errors.Select(e => e.Message)));
        var svc = Assert.IsType<ServiceObject>(Assert.Single(result.Objects));
        Assert.Equal(("web", "default"), (svc.Meta.Name, svc.Meta.Namespace));
        Assert.Equal(["10.96.0.1", "fd00::1"], svc.ClusterIPs.Select(i => i.ToString()));
        Assert.Equal(new TargetPort(0, "web"), svc.Ports[0].TargetPort);
        Assert.Equal(new TargetPort(53, null), svc.Ports[1].TargetPort); // defaults to the port
        Assert.Equal("UDP", svc.Ports[1].Protocol);
        Assert.Equal(("Local", "PreferClose", true), (svc.InternalTrafficPolicy, svc.TrafficDistribution, svc.PublishNotReadyAddresses));
    }

    [Fact]
    public void Parse_MalformedYaml_ErrorNamesFileAndLine()
    {
        var e = SingleError("""
            apiVersion: v1
            kind: Service
            metadata:
              name: [web
            spec: {}
            """, "broken.yaml");
        Assert.Equal("(yaml)", e.Field);
        Assert.InRange(e.Line, 4, 5);
        Assert.Empty(ManifestParser.Parse("broken.yaml", "a: [").Objects);
    }

    [Fact]
    public void Parse_DuplicateKey_IsAYamlError()
    {
        var e = SingleError("""
            apiVersion: v1
            kind: Namespace
            metadata:
              name: a
              name: b
            """);
        Assert.Equal("(yaml)", e.Field);
        Assert.Contains("Duplicate key", e.Reason, StringComparison.Ordinal);
        Assert.Equal(5, e.Line);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\t")]
    [InlineData("{")]
    [InlineData("- a\n- b\n")]
    [InlineData("just a string")]
    [InlineData("a: *nope\n")]
    [InlineData("? [a]\n: b\n")]
    [InlineData("kind: Pod\napiVersion: v1\nmetadata: [1, 2]\n")]
    [InlineData("kind: Pod\napiVersion: v1\nmetadata:\n  name: p\n  labels: [a]\n")]
    [InlineData("kind: Pod\napiVersion: v1\nmetadata:\n  name: p\nspec:\n  containers: {a: 1}\n")]
    [InlineData("kind: PeerAuthentication\napiVersion: security.istio.io/v1\nmetadata:\n  name: p\nspec:\n  selector:\n    matchLabels: {a: b}\n  portLevelMtls:\n    ? [1]\n    : {mode: STRICT}\n")]
    [InlineData("kind: PeerAuthentication\napiVersion: security.istio.io/v1\nmetadata:\n  name: p\nspec:\n  selector:\n    matchLabels: {a: b}\n  portLevelMtls: [1]\n")]
    [InlineData("\u0000\u0001\u0002")]
    public void Parse_Garbage_NeverThrows(string yaml)
    {
        var result = ManifestParser.Parse("garbage.yaml", yaml);
        Assert.All(result.Errors, e => Assert.Equal("garbage.yaml", e.File));
    }

    [Fact]
    public void Parse_NonMappingDocument_ErrorNamesDocument()
    {
        var e = SingleError("---\n- a\n- b\n");
        Assert.Equal(("(document)", 2L), (e.Field, e.Line));
        Assert.Contains("mapping", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_MissingMetadataName_ErrorPointsAtMetadataKey()
    {
        var e = SingleError("""
            apiVersion: v1
            kind: Service
            metadata:
              namespace: shop
              labels:
                app: web
            """);
        Assert.Equal((3L, "metadata.name", "is required"), (e.Line, e.Field, e.Reason));
    }

    [Fact]
    public void Parse_MissingMetadata_ErrorNamesMetadata()
    {
        var e = SingleError("apiVersion: v1\nkind: ServiceAccount\n");
        Assert.Equal(("metadata", "is required"), (e.Field, e.Reason));
    }

    [Fact]
    public void Parse_MissingKind_ErrorNamesKind()
    {
        var e = SingleError("apiVersion: v1\nmetadata:\n  name: x\n");
        Assert.Equal((1L, "kind", "is required"), (e.Line, e.Field, e.Reason));
    }

    [Theory]
    [InlineData("Web", "metadata.name")]
    [InlineData("web_1", "metadata.name")]
    [InlineData("-web", "metadata.name")]
    public void Parse_InvalidName_ErrorNamesNameField(string name, string field)
    {
        var e = SingleError($"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n");
        Assert.Equal((4L, field), (e.Line, e.Field));
        Assert.Contains($"'{name}' is not a valid DNS subdomain name", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_InvalidNamespace_ErrorNamesNamespaceField()
    {
        var e = SingleError("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n  namespace: a.b\n");
        Assert.Equal((5L, "metadata.namespace"), (e.Line, e.Field));
    }

    [Theory]
    [InlineData("not-an-ip")]
    [InlineData("10.1")]              // IPAddress.TryParse alone reads this as 10.0.0.1
    [InlineData("010.0.0.1")]         // … and this as octal 8.0.0.1
    [InlineData("256.0.0.1")]
    [InlineData("1.2.3.4.5")]
    [InlineData("fe80::1%eth0")]
    [InlineData("[fd00::1]")]
    [InlineData("10.0.0.0/8")]
    public void Parse_BadPodIp_ErrorNamesIpField(string ip)
    {
        var e = SingleError(Pod(ip: $"\"{ip}\""), "pod.yaml");
        Assert.Equal(("status.podIPs[0].ip", 12L), (e.Field, e.Line));
        Assert.Equal($"'{ip}' is not an IP address", e.Reason);
    }

    [Theory]
    [InlineData("10.244.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("fd00:10:244::a")]
    [InlineData("::ffff:10.0.0.1")]
    public void Parse_GoodPodIp_Accepted(string ip)
    {
        var result = ManifestParser.Parse("pod.yaml", Pod(ip: $"\"{ip}\""));
        Assert.True(result.Ok, string.Join("\n", result.Errors.Select(e => e.Message)));
        Assert.Equal(System.Net.IPAddress.Parse(ip), Assert.IsType<PodObject>(Assert.Single(result.Objects)).PodIPs[0]);
    }

    [Fact]
    public void Parse_BadClusterIp_ErrorNamesListElement()
    {
        var e = SingleError(ServiceHeader + "  clusterIPs: [10.96.0.1, 10.96.0]\n");
        Assert.Equal(("spec.clusterIPs[1]", 8L), (e.Field, e.Line));
    }

    [Theory]
    [InlineData("HTTP", "'HTTP' is neither a port number nor a valid port name")]
    [InlineData("a-very-long-port-name", "'a-very-long-port-name' is neither a port number nor a valid port name")]
    [InlineData("web_port", "'web_port' is neither a port number nor a valid port name")]
    [InlineData("70000", "70000 is out of range 1-65535")]
    [InlineData("0", "0 is out of range 1-65535")]
    public void Parse_BadTargetPort_ErrorNamesTargetPort(string targetPort, string reason)
    {
        var e = SingleError(ServiceHeader + $"  ports:\n  - port: 80\n    targetPort: {targetPort}\n");
        Assert.Equal(("spec.ports[0].targetPort", 10L, reason), (e.Field, e.Line, e.Reason));
    }

    [Fact]
    public void Parse_BadProtocol_ErrorNamesProtocol()
    {
        var e = SingleError(ServiceHeader + "  ports:\n  - port: 80\n    protocol: HTTP\n");
        Assert.Equal(("spec.ports[0].protocol", "'HTTP' must be TCP, UDP or SCTP"), (e.Field, e.Reason));
    }

    [Fact]
    public void Parse_BadContainerPort_ErrorNamesContainerPort()
    {
        var e = SingleError(Pod().Replace("    image: c\n", "    image: c\n    ports:\n    - containerPort: http\n", StringComparison.Ordinal));
        Assert.Equal(("spec.containers[0].ports[0].containerPort", "'http' is not a number"), (e.Field, e.Reason));
    }

    [Fact]
    public void Parse_UnknownKinds_AreSkipped()
    {
        var result = ManifestParser.Parse("mixed.yaml", """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: web
            spec:
              replicas: 3
            ---
            apiVersion: v1
            kind: ConfigMap
            data:
              anything: goes
            ---
            apiVersion: serving.knative.dev/v1
            kind: Service
            metadata:
              name: NotValidForKubernetesCore
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata:
              name: vs
            """);
        Assert.True(result.Ok, string.Join("\n", result.Errors.Select(e => e.Message)));
        Assert.Empty(result.Objects);
    }

    [Fact]
    public void Parse_ListKind_ParsesItemsAndNamesItemPaths()
    {
        var result = ManifestParser.Parse("list.yaml", """
            apiVersion: v1
            kind: List
            items:
            - apiVersion: v1
              kind: Namespace
              metadata:
                name: a
            - apiVersion: v1
              kind: ServiceAccount
              metadata:
                namespace: a
            - apiVersion: v1
              kind: ServiceAccount
              metadata:
                name: sa
                namespace: a
            """);
        Assert.Equal(["Namespace/a", "ServiceAccount/a/sa"], result.Objects.Select(o => o.Key.ToString()));
        var e = Assert.Single(result.Errors);
        Assert.Equal(("list.yaml", 10L, "items[1].metadata.name"), (e.File, e.Line, e.Field));
    }

    [Fact]
    public void Parse_TypedList_ParsesItems()
    {
        var result = ManifestParser.Parse("list.yaml", """
            apiVersion: v1
            kind: ServiceAccountList
            items:
            - apiVersion: v1
              kind: ServiceAccount
              metadata: {name: one}
            - apiVersion: v1
              kind: ServiceAccount
              metadata: {name: two}
            """);
        Assert.True(result.Ok);
        Assert.Equal(2, result.Objects.Count);
    }

    [Fact]
    public void Parse_MultiDocumentWithEmptyDocuments_ParsesEveryObject()
    {
        var yaml = "---\n---\n# only a comment\n---\n" + Pod("a") + "---\n\n---\n" + Pod("b", "10.244.0.2") + "---\n";
        var result = ManifestParser.Parse("multi.yaml", yaml);
        Assert.True(result.Ok, string.Join("\n", result.Errors.Select(e => e.Message)));
        Assert.Equal(["Pod/ns/a", "Pod/ns/b"], result.Objects.Select(o => o.Key.ToString()));
    }

    [Fact]
    public void Parse_ErrorsInSeveralDocuments_ReportsEachWithItsOwnLine()
    {
        var yaml = Pod("a", "bad") + "---\n" + Pod("b") + "---\n" + Pod("c", "also-bad");
        var result = ManifestParser.Parse("pods.yaml", yaml);
        Assert.False(result.Ok);
        Assert.Equal([("status.podIPs[0].ip", 12L), ("status.podIPs[0].ip", 38L)], result.Errors.Select(e => (e.Field, e.Line)));
    }

    // ---- security.istio.io ----

    private const string PolicyHeader = """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: p
          namespace: ns
        spec:

        """;

    [Fact]
    public void Parse_AuthorizationPolicySelectorAndTargetRefs_Conflict()
    {
        var e = SingleError(PolicyHeader + """
              selector:
                matchLabels: {app: a}
              targetRefs:
              - kind: Gateway
                group: gateway.networking.k8s.io
                name: waypoint
            """);
        Assert.Equal(("spec.targetRefs", 9L, "selector and targetRefs are mutually exclusive"), (e.Field, e.Line, e.Reason));
    }

    [Fact]
    public void Parse_AuthorizationPolicySelectorAndSingularTargetRef_ConflictNamesTargetRef()
    {
        var e = SingleError(PolicyHeader + """
              selector:
                matchLabels: {app: a}
              targetRef:
                kind: Service
                name: a
            """);
        Assert.Equal(("spec.targetRef", 9L), (e.Field, e.Line));
    }

    [Fact]
    public void Parse_AuthorizationPolicyBadAction_ErrorNamesAction()
    {
        var e = SingleError(PolicyHeader + "  action: REJECT\n");
        Assert.Equal(("spec.action", 7L, "'REJECT' must be ALLOW, DENY, AUDIT or CUSTOM"), (e.Field, e.Line, e.Reason));
    }

    [Fact]
    public void Parse_AuthorizationPolicyBadDryRun_ErrorNamesAnnotation()
    {
        var e = SingleError("""
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata:
              name: p
              annotations:
                istio.io/dry-run: "yes"
            spec: {}
            """);
        Assert.Equal(("metadata.annotations.istio.io/dry-run", 6L), (e.Field, e.Line));
    }

    [Theory]
    [InlineData("ipBlocks: [\"10.0.0.0/33\"]", "spec.rules[0].from[0].source.ipBlocks[0]", "'10.0.0.0/33' is not an IP address or CIDR")]
    [InlineData("ipBlocks: [\"010.0.0.0/8\"]", "spec.rules[0].from[0].source.ipBlocks[0]", "'010.0.0.0/8' is not an IP address or CIDR")]
    [InlineData("notIpBlocks: [\"10.1\"]", "spec.rules[0].from[0].source.notIpBlocks[0]", "'10.1' is not an IP address or CIDR")]
    [InlineData("ipBlocks: [\"10.0.0.0/08\"]", "spec.rules[0].from[0].source.ipBlocks[0]", "'10.0.0.0/08' is not an IP address or CIDR")]
    public void Parse_AuthorizationPolicyBadIpBlock_ErrorNamesElement(string source, string field, string reason)
    {
        var e = SingleError(PolicyHeader + $"  rules:\n  - from:\n    - source:\n        {source}\n");
        Assert.Equal((field, 10L, reason), (e.Field, e.Line, e.Reason));
    }

    [Fact]
    public void Parse_AuthorizationPolicyHostBitsInCidr_Accepted()
    {
        // Istio (netip.ParsePrefix) accepts host bits; istiod sends them as written.
        var result = ManifestParser.Parse("p.yaml", PolicyHeader + "  rules:\n  - from:\n    - source:\n        ipBlocks: [10.0.0.5/8, \"2001:db8::1/32\"]\n");
        Assert.True(result.Ok, string.Join("\n", result.Errors.Select(e => e.Message)));
    }

    [Fact]
    public void Parse_AuthorizationPolicyBadPort_ErrorNamesElement()
    {
        var e = SingleError(PolicyHeader + "  rules:\n  - to:\n    - operation:\n        ports: [\"8080\", \"http\"]\n");
        Assert.Equal(("spec.rules[0].to[0].operation.ports[1]", "'http' is not a number"), (e.Field, e.Reason));
    }

    [Theory]
    [InlineData("destination.port", "values: [http]", "spec.rules[0].when[0].values[0]", "'http' is not a number")]
    [InlineData("destination.port", "notValues: [\"70000\"]", "spec.rules[0].when[0].notValues[0]", "70000 is out of range 1-65535")]
    [InlineData("source.ip", "values: [10.0.0.0/99]", "spec.rules[0].when[0].values[0]", "'10.0.0.0/99' is not an IP address or CIDR")]
    [InlineData("destination.ip", "notValues: [nope]", "spec.rules[0].when[0].notValues[0]", "'nope' is not an IP address or CIDR")]
    public void Parse_AuthorizationPolicyBadConditionValue_ErrorNamesValue(string key, string values, string field, string reason)
    {
        // These values used to pass the parser and throw inside SnapshotBuilder.Build, stopping the publisher.
        var e = SingleError(PolicyHeader + $"  rules:\n  - when:\n    - key: {key}\n      {values}\n");
        Assert.Equal((field, reason), (e.Field, e.Reason));
    }

    [Fact]
    public void Parse_AuthorizationPolicyConditionWithoutValues_Error()
    {
        var e = SingleError(PolicyHeader + "  rules:\n  - when:\n    - key: source.ip\n");
        Assert.Equal(("spec.rules[0].when[0]", 9L), (e.Field, e.Line));
    }

    [Fact]
    public void Parse_AuthorizationPolicyL7Fields_RecordedForTheBuilder()
    {
        var result = ManifestParser.Parse("p.yaml", PolicyHeader + """
              rules:
              - from:
                - source:
                    requestPrincipals: ["*"]
                    namespaces: [a]
                to:
                - operation:
                    methods: [GET]
                    paths: [/x]
            """);
        var p = Assert.IsType<AuthorizationPolicyObject>(Assert.Single(result.Objects));
        Assert.Equal<string>(["requestPrincipals"], p.Rules[0].From[0].L7Fields);
        Assert.Equal<string>(["methods", "paths"], p.Rules[0].To[0].L7Fields);
    }

    private const string PeerHeader = """
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata:
          name: p
          namespace: ns
        spec:

        """;

    [Fact]
    public void Parse_PeerAuthenticationBadMode_ErrorNamesMode()
    {
        var e = SingleError(PeerHeader + "  mtls:\n    mode: STRICTEST\n");
        Assert.Equal(("spec.mtls.mode", 8L, "'STRICTEST' must be UNSET, DISABLE, PERMISSIVE or STRICT"), (e.Field, e.Line, e.Reason));
    }

    [Fact]
    public void Parse_PeerAuthenticationPortLevelWithoutSelector_Error()
    {
        var e = SingleError(PeerHeader + "  mtls:\n    mode: STRICT\n  portLevelMtls:\n    \"8080\":\n      mode: PERMISSIVE\n");
        Assert.Equal(("spec.portLevelMtls", 9L, "portLevelMtls requires a workload selector"), (e.Field, e.Line, e.Reason));
    }

    [Theory]
    [InlineData("http", "spec.portLevelMtls.http", "'http' is not a port number")]
    [InlineData("\"0\"", "spec.portLevelMtls.0", "'0' is not a port number")]
    public void Parse_PeerAuthenticationBadPortKey_ErrorNamesKey(string port, string field, string reason)
    {
        var e = SingleError(PeerHeader + $"  selector:\n    matchLabels: {{app: a}}\n  portLevelMtls:\n    {port}:\n      mode: STRICT\n");
        Assert.Equal((field, reason), (e.Field, e.Reason));
    }

    [Fact]
    public void Parse_PeerAuthenticationBadPortMode_ErrorNamesPortMode()
    {
        var e = SingleError(PeerHeader + "  selector:\n    matchLabels: {app: a}\n  portLevelMtls:\n    \"8080\":\n      mode: OFF\n");
        Assert.Equal(("spec.portLevelMtls.8080.mode", 11L), (e.Field, e.Line));
    }

    [Fact]
    public void Parse_PeerAuthentication_ReadsModes()
    {
        var result = ManifestParser.Parse("pa.yaml", PeerHeader + "  selector:\n    matchLabels: {app: a}\n  portLevelMtls:\n    \"8080\":\n      mode: DISABLE\n");
        var pa = Assert.IsType<PeerAuthenticationObject>(Assert.Single(result.Objects));
        Assert.Equal(MutualTlsMode.Unset, pa.Mode);
        Assert.Equal(MutualTlsMode.Disable, pa.PortLevel[8080]);
    }
}
