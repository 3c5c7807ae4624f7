using Amazon.Runtime;

namespace Lifeboat.Storage.S3;

/// <summary>
/// S3 credentials from files in a directory, as a mounted Kubernetes Secret provides them: <c>accessKeyID</c>,
/// <c>secretAccessKey</c> and optionally <c>sessionToken</c> (the names Gardener's backup secrets use). The files are
/// read again whenever they change, so a rotated Secret takes effect without a restart.
/// </summary>
public sealed class FileCredentials : AWSCredentials
{
    public const string AccessKeyFile = "accessKeyID";
    public const string SecretKeyFile = "secretAccessKey";
    public const string SessionTokenFile = "sessionToken";

    private readonly SecretDirectory _files;
    private readonly Lock _lock = new();
    private string[] _stamp = [];
    private ImmutableCredentials? _current;

    private FileCredentials(string directory) => _files = new SecretDirectory(directory, "S3 credentials", "--s3-credentials-dir");

    /// <summary>Checks the directory once, so that a wrong path fails at start rather than at the first upload.</summary>
    public static FileCredentials Open(string directory)
    {
        var credentials = new FileCredentials(directory);
        credentials.GetCredentials();
        return credentials;
    }

    public override ImmutableCredentials GetCredentials()
    {
        var stamp = _files.Stamp(AccessKeyFile, SecretKeyFile, SessionTokenFile);
        lock (_lock)
        {
            if (_current is null || !stamp.SequenceEqual(_stamp))
            {
                _current = new ImmutableCredentials(_files.Read(AccessKeyFile, required: true), _files.Read(SecretKeyFile, required: true),
                    _files.Read(SessionTokenFile, required: false));
                _stamp = stamp;
            }

            return _current;
        }
    }

    public override Task<ImmutableCredentials> GetCredentialsAsync() => Task.FromResult(GetCredentials());
}
