import AllauthStore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `jwt-allauth check`'s look at the files that must stay private: the keys and password files
/// the configuration names, and the SQLite database with everything beside it in its directory
/// (its -wal and -shm, the writer lock, backups kept there). Each one another local user could
/// read, or a group other than the service's (nginx's `www-data`, say), or anyone but its owner
/// could write, is a finding that names the file and the command that closes it.
public struct PrivateFileAudit {
    public struct Finding: Sendable, CustomStringConvertible, Equatable {
        public var path: String
        public var problem: String
        public var fix: String

        public var description: String { "\(path) \(problem): \(fix)" }
    }

    let config: Config
    /// The group that may share a secret: the service's own (a site's keys are root's, 0640, that group's).
    let serviceGroup: gid_t

    public init(config: Config, serviceGroup: gid_t) {
        self.config = config
        self.serviceGroup = serviceGroup
    }

    /// What a file is, and so what it should be.
    private enum Kind {
        /// A key or password file: root's, read-only to the service's group (a site), or its owner's alone (a local instance).
        case secret
        /// The database, its companions, a backup: the service user's alone.
        case data
        case dataDirectory
    }

    /// The findings, one per file at most, in the order: keys, password files, the data directory, its files.
    public func findings() -> [Finding] {
        var secrets = [config.tokens.signingKey, config.tokens.refreshSecret, config.mfa.secretKey]
        if let password = config.mail.smtpPasswordFile { secrets.append(password) }
        if let password = config.database.passwordFile { secrets.append(password) }
        secrets += config.social.providers.flatMap(\.secretFiles)
        var findings = secrets.compactMap { check($0, .secret) }
        guard case .sqlite(let database) = config.database.location else { return findings }
        let directory = URL(fileURLWithPath: database).deletingLastPathComponent().path
        // Only a directory of its own: a local instance keeps its database beside its config and keys.
        guard directory != URL(fileURLWithPath: config.path).deletingLastPathComponent().path else {
            return findings + ["", "-wal", "-shm", "-writer.lock"].compactMap { check(database + $0, .data) }
        }
        findings += [check(directory, .dataDirectory)].compactMap { $0 }
        // Its files, and those of a folder in it (backups/) one level down.
        for name in Self.entries(directory) {
            let path = directory + "/" + name
            findings += [check(path, .data), check(path, .dataDirectory)].compactMap { $0 }
            findings += Self.entries(path).compactMap { check(path + "/" + $0, .data) }
        }
        return findings
    }

    private static func entries(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    private func check(_ path: String, _ kind: Kind) -> Finding? {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == (kind == .dataDirectory ? S_IFDIR : S_IFREG) else { return nil }
        let mode = info.st_mode & 0o7777
        let problem: String
        if mode & 0o007 != 0 {
            problem = "is open to every local user"
        } else if mode & 0o070 != 0 && info.st_gid != serviceGroup {
            problem = "is open to the group \(Self.groupName(info.st_gid)), not only the service's"
        } else if mode & 0o022 != 0 {
            problem = "is writable by its group"
        } else {
            return nil
        }
        let fix = switch kind {
        case .dataDirectory: "chmod 700 \(path)"
        case .secret where info.st_uid == 0: "chown root:\(Self.groupName(serviceGroup)) \(path) && chmod 640 \(path)"
        case .secret, .data: "chmod 600 \(path)"
        }
        return Finding(path: path, problem: "\(problem) (mode \(String(mode, radix: 8)))", fix: fix)
    }

    static func groupName(_ gid: gid_t) -> String {
        getgrgid(gid).map { String(cString: $0.pointee.gr_name) } ?? String(gid)
    }
}
