import Foundation

/// Two hosts of one deployment on this machine: two `jwt-allauth dev` instances, each with its own
/// directory, nginx on its own loopback port, worker pool and mail process, sharing the
/// configuration, the keys and one PostgreSQL database, as hosts behind a load balancer would.
struct TwoHosts {
    let a: TestInstance
    let b: TestInstance

    /// `environment` applies to both hosts (a mail sink's, a rotation grace …).
    init(environment: [String: String] = [:]) throws {
        a = try TestInstance(environment: environment, engine: .postgresql)
        // Host B starts from a copy of A's config.yaml and keys/ (its paths are relative to the
        // file), so both sign and check tokens with the same keys; its socket, logs and nginx
        // are its own.
        let site = FileManager.default.temporaryDirectory.appendingPathComponent("jwt-allauth-host-b-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: site, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: a.directory.appendingPathComponent("config.yaml"), to: site.appendingPathComponent("config.yaml"))
        try FileManager.default.copyItem(at: a.directory.appendingPathComponent("keys"), to: site.appendingPathComponent("keys"))
        b = try TestInstance(environment: environment, directory: site, postgres: a.postgres)
    }

    /// The host request `index` goes to: alternately A and B, as a round-robin balancer sends them.
    func host(_ index: Int) -> TestInstance { index % 2 == 0 ? a : b }

    /// Presents one refresh token `count` times at once, alternately to A and B; answers
    /// (status, new refresh cookie) each.
    func refreshSimultaneously(_ token: String, count: Int) -> [(status: Int, refresh: String?)] {
        TestInstance.refreshSimultaneously(token, count: count, across: [a.client, b.client], mount: a.mount)
    }
}
