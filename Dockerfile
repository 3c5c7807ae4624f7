# The Lifeboat image: the etcd sidecar (deploy/etcd), the volume snapshotter and resource backup CronJobs.
#   docker build -t lifeboat:dev .
# Runs as the non-root user "app" (UID 1654) that the .NET images carry; nothing is written inside the image.
# DockerfileBuildTests runs this file's build stage on exactly the files it copies (after .dockerignore), so a file
# the build needs and the COPY lines miss fails CI.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# .editorconfig carries the analyzer settings: without it, warnings the build treats as errors differ from CI's.
COPY global.json Directory.Build.props Directory.Packages.props BannedSymbols.txt Lifeboat.slnx .editorconfig ./
COPY src/ src/
RUN dotnet publish src/Lifeboat.Cli/Lifeboat.Cli.csproj -c Release -o /out --nologo

# aspnet: the sidecar serves its API with Kestrel. The Debian base has libz and libzstd (gzip and zstd snapshots).
FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /out/ /app/
ENV DOTNET_gcServer=0 \
    DOTNET_GCHeapHardLimitPercent=75
USER 1654:1654
ENTRYPOINT ["/app/lifeboat"]
