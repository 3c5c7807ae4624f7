using System.Security.Cryptography;
using System.Text;
using Lifeboat.Cli.Commands;
using Lifeboat.Core.Errors;
using Lifeboat.Core.Snapshots;
using Lifeboat.Core.Storage;
using Lifeboat.Etcd.Client;
using Lifeboat.Storage.Buffering;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Lifeboat.Cli.Hosting;

/// <summary>
/// The sidecar's HTTP API. <c>/healthz</c> and <c>/readyz</c> are open (for kubelet probes); everything else needs the
/// bearer token when one is configured.
/// </summary>
internal static class SidecarApi
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    public static void Map(WebApplication app, SidecarOptions options, EtcdSidecar sidecar, SidecarState state, EtcdClient client,
        ISnapshotStore store, BufferedStore? buffer, InitializationService initialization, SidecarMetrics metrics, TimeProvider time)
    {
        if (options.ApiToken is { } token)
        {
            var expected = Encoding.UTF8.GetBytes("Bearer " + token);
            app.Use(async (context, next) =>
            {
                var path = context.Request.Path.Value ?? "";
                var given = Encoding.UTF8.GetBytes(context.Request.Headers.Authorization.ToString());
                if (path is "/healthz" or "/readyz" || CryptographicOperations.FixedTimeEquals(given, expected))
                {
                    await next(context);
                    return;
                }

                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await context.Response.WriteAsJsonAsync(new { error = "a bearer token is required (Authorization: Bearer <token from --api-token-file>)" });
            });
        }

        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/readyz", async (CancellationToken ct) =>
        {
            var checks = new SortedDictionary<string, string>(StringComparer.Ordinal);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(ProbeTimeout);
            checks["etcd"] = await ProbeAsync(async () => await client.StatusAsync(null, timeout.Token));
            checks["store"] = await ProbeAsync(async () => await store.ListAsync(SnapshotLayout.Prefix, timeout.Token).FirstOrDefaultAsync(timeout.Token));
            if (buffer is { BufferedObjects: > 0 and var waiting })
            {
                checks["buffer"] = $"{waiting} snapshots wait in the local buffer for the store";
            }

            var now = time.GetUtcNow();
            if (!state.LeadershipKnown)
            {
                checks["leader"] = "not known yet: the sidecar is starting"; // a leader's sidecar is ready only once its chain has begun
                return Results.Json(new { ready = false, leader = false, checks }, EtcdCommands.Json, statusCode: 503);
            }

            if (!state.IsLeader)
            {
                checks["full"] = checks["delta"] = "ok"; // a follower's sidecar does not write; the leader's does
                var followerReady = checks.Values.All(v => v == "ok");
                return Results.Json(new { ready = followerReady, leader = false, checks }, EtcdCommands.Json, statusCode: followerReady ? 200 : 503);
            }

            checks["full"] = state.LastFullAt is null ? "no full snapshot yet"
                : options.FullSchedule.IsDue(state.LastFullAt, now - TimeSpan.FromMinutes(15)) ? $"overdue: the last full snapshot is from {state.LastFullAt:u}"
                : "ok";
            var lastAny = state.LastDeltaAt ?? state.LastFullAt;
            checks["delta"] = state.EtcdRevision > state.ChainReach && lastAny is { } t && now - t > (2 * options.DeltaPeriod) + TimeSpan.FromMinutes(1)
                ? $"stale: changes up to revision {state.EtcdRevision}, captured up to {state.ChainReach}, last snapshot {t:u}"
                : "ok";
            var ready = checks.Values.All(v => v == "ok");
            return Results.Json(new { ready, leader = true, checks }, EtcdCommands.Json, statusCode: ready ? 200 : 503);
        });
        app.MapGet("/metrics", async (CancellationToken cancellationToken) =>
            Results.Text(await metrics.RenderAsync(cancellationToken), "text/plain; version=0.0.4; charset=utf-8"));
        app.MapGet("/config", () => Results.Json(options.Redacted(), EtcdCommands.Json));
        app.MapGet("/snapshots/latest", () => Results.Json(new
        {
            full = state.LastFull,
            fullAt = state.LastFullAt,
            delta = state.LastDelta,
            deltaAt = state.LastDeltaAt,
            leader = state.IsLeader,
            chainRevision = state.ChainReach,
            etcdRevision = state.EtcdRevision,
            lastError = state.LastError,
            buffered = buffer is null ? null : new { objects = buffer.BufferedObjects, bytes = buffer.BufferedBytes },
        }, EtcdCommands.Json));
        app.MapPost("/initialization/start", () => initialization.Start()
            ? Results.Json(initialization.Status, EtcdCommands.Json, statusCode: StatusCodes.Status202Accepted)
            : Results.Json(new { error = "the sidecar was started without --data-dir, so it cannot check etcd's data directory", fix = "pass --data-dir and etcd's member flags to serve" },
                EtcdCommands.Json, statusCode: StatusCodes.Status409Conflict));
        app.MapGet("/initialization/status", () => Results.Json(initialization.Status, EtcdCommands.Json));
        app.MapPost("/snapshots/full", (CancellationToken ct) => state.IsLeader
            ? RunAsync(state, FullRequestDeadline, deadline => sidecar.TakeFullAsync("requested over HTTP", deadline), ct)
            : Task.FromResult(NotLeader()));
        app.MapPost("/snapshots/delta", (CancellationToken ct) => state.IsLeader
            ? RunAsync(state, DeltaRequestDeadline, async deadline => new { delta = await sidecar.FlushDeltaAsync(deadline) }, ct)
            : Task.FromResult(NotLeader()));
    }

    private static IResult NotLeader() => Results.Json(
        new { error = "this sidecar's member is not etcd's leader; only the leader's sidecar writes snapshots", fix = "send the request to the leader's sidecar" },
        EtcdCommands.Json, statusCode: StatusCodes.Status409Conflict);

    private static async Task<string> ProbeAsync(Func<Task> probe)
    {
        try
        {
            await probe();
            return "ok";
        }
        catch (Exception ex) when (ex is LifeboatException or OperationCanceledException or IOException)
        {
            return ex is OperationCanceledException ? $"no answer within {ProbeTimeout.TotalSeconds:0} s" : ex.Message;
        }
    }

    /// <summary>How long POST /snapshots/delta may take before it answers 503: a delta is written in seconds unless the store is down.</summary>
    internal static readonly TimeSpan DeltaRequestDeadline = TimeSpan.FromMinutes(2);

    /// <summary>How long POST /snapshots/full may take (a snapshot of several GB included) before it is cancelled and answers 503.</summary>
    internal static readonly TimeSpan FullRequestDeadline = TimeSpan.FromHours(1);

    private static async Task<IResult> RunAsync<T>(SidecarState state, TimeSpan limit, Func<CancellationToken, Task<T>> action, CancellationToken requestAborted)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(requestAborted);
        deadline.CancelAfter(limit);
        try
        {
            return Results.Json(await action(deadline.Token), EtcdCommands.Json);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !requestAborted.IsCancellationRequested)
        {
            return Results.Json(new
            {
                error = $"no answer within {limit.TotalMinutes:0} min",
                lastError = state.LastError,
                fix = "the store or etcd may be down: see lastError, /readyz and the sidecar's log; the sidecar keeps retrying on its own",
            }, EtcdCommands.Json, statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        catch (LifeboatException ex)
        {
            return Results.Json(new { error = ex.Message, fix = ex.Hint }, EtcdCommands.Json,
                statusCode: ex.IsTransient ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status500InternalServerError);
        }
        catch (InvalidOperationException ex)
        {
            return Results.Json(new { error = ex.Message }, EtcdCommands.Json, statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }
}
