using YamlDotNet.Serialization;

namespace Lifeboat.Kubernetes.Config;

/// <summary>The parts of a kubeconfig file (clientcmd v1 Config) Lifeboat reads; names as kubectl writes them.</summary>
public sealed class KubeConfigFile
{
    [YamlMember(Alias = "current-context")]
    public string? CurrentContext { get; set; }

    [YamlMember(Alias = "clusters")]
    public List<NamedCluster>? Clusters { get; set; }

    [YamlMember(Alias = "users")]
    public List<NamedUser>? Users { get; set; }

    [YamlMember(Alias = "contexts")]
    public List<NamedContext>? Contexts { get; set; }

    /// <summary>The directory relative file paths in this file are resolved against (set by the loader).</summary>
    [YamlIgnore]
    public string? Directory { get; set; }
}

public sealed class NamedCluster
{
    [YamlMember(Alias = "name")]
    public string? Name { get; set; }

    [YamlMember(Alias = "cluster")]
    public ClusterConfig? Cluster { get; set; }

    [YamlIgnore]
    public string? Directory { get; set; }
}

public sealed class ClusterConfig
{
    [YamlMember(Alias = "server")]
    public string? Server { get; set; }

    [YamlMember(Alias = "certificate-authority")]
    public string? CertificateAuthority { get; set; }

    [YamlMember(Alias = "certificate-authority-data")]
    public string? CertificateAuthorityData { get; set; }

    [YamlMember(Alias = "insecure-skip-tls-verify")]
    public bool InsecureSkipTlsVerify { get; set; }

    [YamlMember(Alias = "tls-server-name")]
    public string? TlsServerName { get; set; }
}

public sealed class NamedUser
{
    [YamlMember(Alias = "name")]
    public string? Name { get; set; }

    [YamlMember(Alias = "user")]
    public UserConfig? User { get; set; }

    [YamlIgnore]
    public string? Directory { get; set; }
}

public sealed class UserConfig
{
    [YamlMember(Alias = "token")]
    public string? Token { get; set; }

    [YamlMember(Alias = "tokenFile")]
    public string? TokenFile { get; set; }

    [YamlMember(Alias = "client-certificate")]
    public string? ClientCertificate { get; set; }

    [YamlMember(Alias = "client-certificate-data")]
    public string? ClientCertificateData { get; set; }

    [YamlMember(Alias = "client-key")]
    public string? ClientKey { get; set; }

    [YamlMember(Alias = "client-key-data")]
    public string? ClientKeyData { get; set; }

    [YamlMember(Alias = "username")]
    public string? Username { get; set; }

    [YamlMember(Alias = "password")]
    public string? Password { get; set; }

    [YamlMember(Alias = "exec")]
    public ExecConfig? Exec { get; set; }

    [YamlMember(Alias = "auth-provider")]
    public Dictionary<string, object>? AuthProvider { get; set; }
}

public sealed class ExecConfig
{
    [YamlMember(Alias = "apiVersion")]
    public string? ApiVersion { get; set; }

    [YamlMember(Alias = "command")]
    public string? Command { get; set; }

    [YamlMember(Alias = "args")]
    public List<string>? Args { get; set; }

    [YamlMember(Alias = "env")]
    public List<ExecEnv>? Env { get; set; }

    [YamlMember(Alias = "installHint")]
    public string? InstallHint { get; set; }

    [YamlMember(Alias = "interactiveMode")]
    public string? InteractiveMode { get; set; }

    [YamlMember(Alias = "provideClusterInfo")]
    public bool ProvideClusterInfo { get; set; }
}

public sealed class ExecEnv
{
    [YamlMember(Alias = "name")]
    public string? Name { get; set; }

    [YamlMember(Alias = "value")]
    public string? Value { get; set; }
}

public sealed class NamedContext
{
    [YamlMember(Alias = "name")]
    public string? Name { get; set; }

    [YamlMember(Alias = "context")]
    public ContextConfig? Context { get; set; }
}

public sealed class ContextConfig
{
    [YamlMember(Alias = "cluster")]
    public string? Cluster { get; set; }

    [YamlMember(Alias = "user")]
    public string? User { get; set; }

    [YamlMember(Alias = "namespace")]
    public string? Namespace { get; set; }
}
