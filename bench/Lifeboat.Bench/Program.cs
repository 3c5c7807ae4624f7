using System.Diagnostics;
using System.Globalization;
using Lifeboat.Etcd;
using Lifeboat.Etcd.Client;
using Lifeboat.Testing;

// Bench helper: loads etcd with test data as fast as etcd takes it, with the same loader the tests use.
//   load ENDPOINT KEYS VALUE_BYTES [OPS_PER_TXN] [PARALLEL]
// OPS_PER_TXN 1 makes every key its own revision (what delta replay pays for); use PARALLEL 16 or so then.
if (args.Length < 4 || args[0] != "load")
{
    await Console.Error.WriteLineAsync("usage: Lifeboat.Bench load ENDPOINT KEYS VALUE_BYTES [OPS_PER_TXN=128] [PARALLEL=4]");
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
