import Foundation
import Synchronization

/// Where a key load reads its files: the disk (recording what it read), or such a record.
///
/// `serve`'s master loads the keys at start and at each reload, and hands what it read to its
/// workers with the configuration text. So every worker of a generation holds the same keys,
/// whenever it starts: a worker respawned after `rotate-key` wrote a new key but before the reload
/// would otherwise sign with a key its siblings cannot verify (their 401s until the reload), and a
/// key file being rewritten can never be read half-written by a worker.
public final class KeyFiles: Sendable {
    /// What one load read: the files by path, and the directories it listed.
    public struct Record: Codable, Sendable, Equatable {
        public var files: [String: Data] = [:]
        public var directories: [String: [String]] = [:]
        /// Directories looked for that did not exist.
        public var absentDirectories: Set<String> = []

        public init() {}
    }

    enum Listing: Equatable {
        case absent
        case unreadable
        case names([String])
    }

    private let record: Mutex<Record>
    /// Reads the record alone, never the disk.
    private let replaying: Bool

    /// The disk; `record` then holds what was read.
    public init() {
        record = Mutex(Record())
        replaying = false
    }

    /// What an earlier load read from the disk; anything it did not read is missing.
    public init(replaying record: Record) {
        self.record = Mutex(record)
        replaying = true
    }

    /// What was read so far (or replayed).
    public var recorded: Record { record.withLock { $0 } }

    /// The file's bytes, or nil if it cannot be read.
    func read(_ path: String) -> Data? {
        if replaying { return record.withLock { $0.files[path] } }
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        record.withLock { $0.files[path] = data }
        return data
    }

    /// The file's text (UTF-8), or nil if it cannot be read or is not text.
    func text(_ path: String) -> String? {
        read(path).flatMap { String(data: $0, encoding: .utf8) }
    }

    /// The names in `directory`, unsorted.
    func list(_ directory: String) -> Listing {
        if replaying {
            return record.withLock { record in
                if let names = record.directories[directory] { return .names(names) }
                return record.absentDirectories.contains(directory) ? .absent : .unreadable
            }
        }
        guard FileManager.default.fileExists(atPath: directory) else {
            record.withLock { _ = $0.absentDirectories.insert(directory) }
            return .absent
        }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return .unreadable }
        record.withLock { $0.directories[directory] = names }
        return .names(names)
    }
}
