using System.Collections.Concurrent;
using Lifeboat.Kubernetes.Client;
using Lifeboat.Kubernetes.Volumes;
using Lifeboat.Testing;
using Lifeboat.Testing.Kube;

namespace Lifeboat.Kubernetes.Tests.Volumes;

/// <summary>A test API server with the simulated controllers, a namespace <c>app</c>, an admin client and a recording step log.</summary>
public abstract class VolumeTestBase : IAsyncLifetime
{
    protected const string Ns = "app";

    /// <summary>The clock of the server, the simulated controllers and Lifeboat: real speed, movable forward.</summary>
    protected ShiftedTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 21, 14, 7, 0, TimeSpan.Zero));

    protected TestApiServer Server { get; private set; } = null!;

    protected ClusterSimulator Cluster { get; private set; } = null!;

    protected KubeClient Client { get; private set; } = null!;

    protected RecordingLog Log { get; } = new();

    protected static SnapshotWaitOptions QuickWaits { get; } = new() { CutTimeout = TimeSpan.FromSeconds(10), ReadyTimeout = TimeSpan.FromSeconds(10) };

    public async Task InitializeAsync()
    {
        Server = await TestApiServer.StartAsync(Clock);
        Server.CreateNamespace(Ns);
        Cluster = ClusterSimulator.Start(Server);
        Client = new KubeClient(Server.Connection(ns: Ns));
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Cluster.DisposeAsync();
        await Server.DisposeAsync();
    }

    protected VolumeSnapshotter Snapshotter(KubeClient? client = null) =>
        new(client ?? Client, Log, Clock) { PollInterval = TimeSpan.FromMilliseconds(50) };

    protected sealed class RecordingLog : IStepLog
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public string Text => string.Join('\n', Lines);

        public void Info(string message) => Lines.Enqueue(message);

        public void Warn(string message) => Lines.Enqueue("warning: " + message);
    }
}
