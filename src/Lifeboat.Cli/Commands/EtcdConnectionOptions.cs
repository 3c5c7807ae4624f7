using System.CommandLine;
using Lifeboat.Etcd;

namespace Lifeboat.Cli.Commands;

/// <summary>etcdctl-compatible connection flags, shared by every command that talks to etcd.</summary>
internal sealed class EtcdConnectionOptions
{
    public Option<string> Endpoints { get; } = new("--endpoints")
    {
        Description = "Comma-separated etcd client URLs (http:// or https://), tried in order [env: LIFEBOAT_ENDPOINTS]",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("LIFEBOAT_ENDPOINTS") ?? "http://127.0.0.1:2379",
    };

    public Option<FileInfo?> CaCert { get; } = new("--cacert") { Description = "PEM file of the CA that signs etcd's server certificate" };

    public Option<FileInfo?> Cert { get; } = new("--cert") { Description = "PEM client certificate, for etcd's --client-cert-auth" };

    public Option<FileInfo?> Key { get; } = new("--key") { Description = "PEM private key of --cert" };

    public Option<string?> User { get; } = new("--user")
    {
        Description = "etcd user, for etcd's user/password authentication (etcdctl's --user); the password comes from --password-file [env: LIFEBOAT_ETCD_USER]",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("LIFEBOAT_ETCD_USER") is { Length: > 0 } u ? u : null,
    };

    public Option<FileInfo?> PasswordFile { get; } = new("--password-file")
    {
        Description = "File holding the --user's password (a mounted Secret; one line) [env: LIFEBOAT_ETCD_PASSWORD_FILE]",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("LIFEBOAT_ETCD_PASSWORD_FILE") is { Length: > 0 } f ? new FileInfo(f) : null,
    };

    public Option<TimeSpan> DialTimeout { get; } = new Option<TimeSpan>("--dial-timeout")
    {
        Description = "Time to connect to one endpoint: 500ms, 5s, 1m",
        DefaultValueFactory = _ => TimeSpan.FromSeconds(5),
    }.Duration(TimeSpan.FromMilliseconds(1));

    public Option<int> MaxRecvBytes { get; } = new Option<int>("--max-recv-bytes")
    {
        Description = "Largest single message accepted from etcd, in bytes",
        DefaultValueFactory = _ => 512 * 1024 * 1024,
    }.Integer(min: 4096);

    public void AddTo(Command command)
    {
        command.Options.Add(Endpoints);
        command.Options.Add(CaCert);
        command.Options.Add(Cert);
        command.Options.Add(Key);
        command.Options.Add(User);
        command.Options.Add(PasswordFile);
        command.Options.Add(DialTimeout);
        command.Options.Add(MaxRecvBytes);
    }

    /// <exception cref="ArgumentException">A flag is invalid; the message says which and how to fix it.</exception>
    public EtcdClientOptions Read(ParseResult parse)
    {
        var options = new EtcdClientOptions
        {
            Endpoints = EtcdClientOptions.ParseEndpoints(parse.GetValue(Endpoints) ?? ""),
            CaCertificateFile = parse.GetValue(CaCert)?.FullName,
            ClientCertificateFile = parse.GetValue(Cert)?.FullName,
            ClientKeyFile = parse.GetValue(Key)?.FullName,
            Username = UserName(parse),
            Password = PasswordOf(parse),
            DialTimeout = parse.GetValue(DialTimeout),
            MaxReceiveMessageBytes = parse.GetValue(MaxRecvBytes),
        };
        options.Validate();
        return options;
    }

    private string? UserName(ParseResult parse) => parse.GetValue(User) is { } user
        ? user.Contains(':', StringComparison.Ordinal)
            ? throw new ArgumentException("--user takes only the user name: a password on the command line is visible to every process; put it in --password-file")
            : user
        : null;

    private string? PasswordOf(ParseResult parse)
    {
        if (parse.GetValue(PasswordFile) is not { } file)
        {
            return null;
        }

        if (!file.Exists)
        {
            throw new ArgumentException($"--password-file '{file.FullName}' does not exist");
        }

        var password = File.ReadAllText(file.FullName).TrimEnd('\r', '\n');
        return password.Length > 0 ? password : throw new ArgumentException($"--password-file '{file.FullName}' is empty");
    }
}
