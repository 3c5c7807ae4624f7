using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Lifeboat.Etcd;
using Lifeboat.Etcd.Client;
using Lifeboat.Kubernetes.Client;
using Lifeboat.Testing;
using Lifeboat.Testing.Kube;

// Bench helper.
//   load ENDPOINT KEYS VALUE_BYTES [OPS_PER_TXN] [PARALLEL]: loads etcd with test data as fast as etcd takes it, with the
//     same loader the tests use. OPS_PER_TXN 1 makes every key its own revision (what delta replay pays for); use
//     PARALLEL 16 or so then.
//   azure-container CONNECTION_STRING NAME: creates a blob container (in Azurite) if it does not exist.
//   api-server KUBECONFIG SNAPSHOTS: serves the tests' Kubernetes API server on loopback with SNAPSHOTS ready
//     VolumeSnapshots in namespace default, writes a kubeconfig for it to KUBECONFIG, and runs until stdin closes.
if (args is ["api-server", var kubeconfig, var count])
{
    await using var server = await TestApiServer.StartAsync();
    for (var i = 0; i < int.Parse(count, CultureInfo.InvariantCulture); i++)
    {
        server.Seed(KubeResource.VolumeSnapshots, new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = $"db-{i:D4}", ["namespace"] = "default", ["creationTimestamp"] = "2026-01-01T00:00:00Z" },
            ["spec"] = new JsonObject { ["source"] = new JsonObject { ["persistentVolumeClaimName"] = "db" }, ["volumeSnapshotClassName"] = "csi" },
            ["status"] = new JsonObject { ["readyToUse"] = true, ["restoreSize"] = "1Gi", ["boundVolumeSnapshotContentName"] = $"content-{i:D4}" },
        });
    }

    await File.WriteAllTextAsync(kubeconfig, server.Kubeconfig(TestApiServer.AdminToken, "default"));
    Console.WriteLine("serving");
    await Console.In.ReadToEndAsync();
    return 0;
}

if (args is ["azure-container", var connectionString, var container])
{
    await new Azure.Storage.Blobs.BlobContainerClient(connectionString, container).CreateIfNotExistsAsync();
    return 0;
}

if (args.Length < 4 || args[0] != "load")
{
    await Console.Error.WriteLineAsync("usage: Lifeboat.Bench load ENDPOINT KEYS VALUE_BYTES [OPS_PER_TXN=128] [PARALLEL=4] | api-server KUBECONFIG SNAPSHOTS | azure-container CONNECTION_STRING NAME");
    return 2;
}

var endpoint = new Uri(args[1]);
var keys = int.Parse(args[2], CultureInfo.InvariantCulture);
var valueBytes = int.Parse(args[3], CultureInfo.InvariantCulture);
var opsPerTxn = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 128;
var parallel = args.Length > 5 ? int.Parse(args[5], CultureInfo.InvariantCulture) : 4;

using var client = new EtcdClient(new EtcdClientOptions { Endpoints = [endpoint], CommandTimeout = TimeSpan.FromMinutes(2) });
var clock = Stopwatch.StartNew();
await EtcdLoad.PutManyAsync(client, "/registry/bench/", keys, valueBytes, opsPerTxn, parallel);
var status = await client.StatusAsync(null, CancellationToken.None);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"loaded {keys} keys x {valueBytes} B in {clock.Elapsed.TotalSeconds:0.0} s; etcd db {status.DbSize / 1048576.0:0} MiB at revision {status.Header.Revision}"));
return 0;
