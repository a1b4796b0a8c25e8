import AllauthCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension Config {
    /// The `server` section: the socket, the pool's size and where the API is mounted.
    public struct Server: Sendable {
        public var socket: String
        public var socketMode: UInt32
        /// The group the socket is given (nginx's), or nil for the service's own.
        public var socketGroup: gid_t?
        public var workers: Int
        public var threads: Int
        /// How many of a worker's `threads` take requests at once (`RunnerGate`); the rest stand in
        /// for threads blocked in a long wait.
        public var runningThreads: Int
        public var maxBodyBytes: Int
        public var stopTimeout: TimeInterval
        /// Where the API is mounted; routes are matched below it.
        public var mount: String
        /// The public origin of the service (scheme://host[:port]) used in links and redirects.
        public var publicURL: String

        enum Key {
            static let socket = SettingKey("server.socket", default: "`run/jwt-allauth.sock`", "FastCGI unix socket the master listens on")
            static let socketMode = SettingKey("server.socket_mode", default: "`0660`", "its permissions (nginx must share its group)")
            static let socketGroup = SettingKey("server.socket_group", default: "the service's group", """
                the group the socket is given, by name or number: nginx's (`www-data`), which the service must be a member of \
                (the unit's `SupplementaryGroups=`), so that nginx reaches the socket and nothing else of the service
                """)
            static let workers = SettingKey("server.workers", default: "`2`", "worker processes")
            static let threads = SettingKey("server.threads", default: "`16`",
                                            "threads per worker that answer requests, running or waiting (see [sizing.md](sizing.md))")
            static let runningThreads = SettingKey("server.running_threads",
                                                   default: "SQLite: cores ÷ `server.workers`, rounded up; PostgreSQL: `server.threads`", """
                how many of them take requests at once; a thread waiting for long (a hash, an identity provider, a lock held \
                by a stuck process) gives its turn to another (see [sizing.md](sizing.md))
                """)
            static let maxBodyBytes = SettingKey("server.max_body_bytes", default: "`65536`", "larger bodies get 413")
            static let stopTimeout = SettingKey("server.stop_timeout", default: "`10s`", "how long a stopping worker may take before it is killed")
            static let mount = SettingKey("server.mount", default: "`/jwt-allauth`", "URL prefix of the API")
            static let publicURL = SettingKey("server.public_url", default: "`http://127.0.0.1:8080`",
                                              "the service's public origin (links; same-origin check on refresh)")
        }

        /// The section, and `server.running_threads` if set: its default depends on the store
        /// (`Config.defaultRunningThreads`), which is read after.
        static func parse(_ r: inout ConfigReader) throws(ConfigError) -> (Server, runningThreads: Int?) {
            let socket = try r.path(Key.socket, default: "run/jwt-allauth.sock")
            let socketMode = try fileMode(r.string(Key.socketMode, default: "0660"), key: Key.socketMode)
            let socketGroup = try r.optionalString(Key.socketGroup).map { name throws(ConfigError) in try groupID(name) }
            let workers = try r.int(Key.workers, default: 2, range: 1...256)
            let threads = try r.int(Key.threads, default: 16, range: 1...512)
            let runningThreads = try r.optionalInt(Key.runningThreads, range: 1...threads)
            let server = Server(
                socket: socket, socketMode: socketMode, socketGroup: socketGroup, workers: workers, threads: threads, runningThreads: runningThreads ?? threads,
                maxBodyBytes: try r.int(Key.maxBodyBytes, default: 65536, range: 1024...(16 << 20)),
                stopTimeout: try r.duration(Key.stopTimeout, default: 10, minimum: 1),
                mount: try mount(r.string(Key.mount, default: "/jwt-allauth")),
                publicURL: try Config.origin(r.string(Key.publicURL, default: "http://127.0.0.1:8080"), key: Key.publicURL)
            )
            return (server, runningThreads)
        }

        private static func fileMode(_ text: String, key: SettingKey) throws(ConfigError) -> UInt32 {
            guard let mode = UInt32(text, radix: 8), mode <= 0o777 else {
                throw ConfigError(key: key.name, problem: "expected an octal file mode like 0660, got \"\(text)\"")
            }
            return mode
        }

        /// A group of this machine, by name or number.
        private static func groupID(_ text: String) throws(ConfigError) -> gid_t {
            if let number = gid_t(text) { return number }
            guard let group = getgrnam(text) else {
                throw ConfigError(key: Key.socketGroup.name, problem: "no group \"\(text)\" on this machine (getent group \(text))")
            }
            return group.pointee.gr_gid
        }

        private static func mount(_ text: String) throws(ConfigError) -> String {
            var mount = text
            while mount.hasSuffix("/") { mount.removeLast() }
            guard mount.isEmpty || mount.hasPrefix("/") else {
                throw ConfigError(key: Key.mount.name, problem: "must start with / (e.g. /jwt-allauth)")
            }
            return mount
        }
    }

    /// An origin (`https://example.com`), its trailing slashes dropped; anything else names `key`.
    static func origin(_ text: String, key: SettingKey) throws(ConfigError) -> String {
        var origin = text
        while origin.hasSuffix("/") { origin.removeLast() }
        guard let url = URL(string: origin), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil,
              url.path.isEmpty
        else {
            throw ConfigError(key: key.name, problem: "expected an origin like https://example.com, got \"\(text)\"")
        }
        return origin
    }
}
