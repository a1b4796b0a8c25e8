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

    /// The findings, one per file at most, in the order: keys, password files, the data directory, its files.
    public func findings() -> [Finding] {
        var secrets = [config.tokens.signingKey, config.tokens.refreshSecret, config.mfa.secretKey]
        if let password = config.mail.smtpPasswordFile { secrets.append(password) }
        var findings = secrets.compactMap { check($0, directory: false) }
        guard case .sqlite(let database) = config.database.location else { return findings }
        let directory = URL(fileURLWithPath: database).deletingLastPathComponent().path
        // Only a directory of its own: a local instance keeps its database beside its config and keys.
        let ownDirectory = directory != URL(fileURLWithPath: config.path).deletingLastPathComponent().path
        if ownDirectory, let finding = check(directory, directory: true) { findings.append(finding) }
        let siblings = ownDirectory ? ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
            : [database, database + "-wal", database + "-shm", database + "-writer.lock"].map { ($0 as NSString).lastPathComponent }
        for name in siblings {
            if let finding = check(directory + "/" + name, directory: false) { findings.append(finding) }
        }
        return findings
    }

    private func check(_ path: String, directory: Bool) -> Finding? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        let kind = info.st_mode & S_IFMT
        guard kind == (directory ? S_IFDIR : S_IFREG) else { return nil }
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
        return Finding(path: path, problem: "\(problem) (mode \(String(mode, radix: 8)))", fix: fix(path, owner: info.st_uid, directory: directory))
    }

    /// What the file should be: root's secret shared read-only with the service's group (a site's
    /// keys), or its owner's alone (the database, backups, a local instance's keys).
    private func fix(_ path: String, owner: uid_t, directory: Bool) -> String {
        if directory { return "chmod 700 \(path)" }
        if owner == 0 { return "chown root:\(Self.groupName(serviceGroup)) \(path) && chmod 640 \(path)" }
        return "chmod 600 \(path)"
    }

    static func groupName(_ gid: gid_t) -> String {
        getgrgid(gid).map { String(cString: $0.pointee.gr_name) } ?? String(gid)
    }
}
