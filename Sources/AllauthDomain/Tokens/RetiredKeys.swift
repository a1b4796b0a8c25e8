import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A signing key that `rotate-key` replaced, kept so that the tokens it signed still verify. It
/// verifies only tokens that expire by `verifiesUntil` (its retirement plus the access lifetime and
/// `tokens.retired_key_leeway`: the last moment a token it signed can live), so from then on it
/// verifies nothing, whether or not the workers were reloaded. It never signs: a `KeySet` signs
/// with its signing key alone.
public struct RetiredKey: Sendable {
    public let key: any SigningKey
    public let retiredAt: Int64
    public let verifiesUntil: Int64
}

/// Where retired keys live, by convention rather than in config.yaml (which stays the sysadmin's,
/// comments and all): `retired/` beside the signing key, one file per key named
/// `<retired at, UTC>.<kid>.pem`, its public key (`.key`, the secret itself, for HS256).
/// The loader skips a file past its key's deadline; the next `rotate-key` deletes it.
public enum RetiredKeys {
    /// One file of the directory, as its name describes it.
    struct Entry {
        var path: String
        var retiredAt: Int64
        var kid: String
    }

    public static func directory(beside signingKey: String) -> String {
        URL(fileURLWithPath: signingKey).deletingLastPathComponent().appendingPathComponent("retired").path
    }

    public static func fileName(kid: String, retiredAt: Int64, algorithm: TokenAlgorithm) -> String {
        "\(stamp(retiredAt)).\(kid).\(algorithm == .hs256 ? "key" : "pem")"
    }

    /// The last second at which a token signed by a key retired at `retiredAt` can still be valid.
    public static func deadline(retiredAt: Int64, _ tokens: TokenSettings) -> Int64 {
        retiredAt + Int64(tokens.accessLifetime.rounded(.up)) + Int64(tokens.retiredKeyLeeway.rounded(.up))
    }

    /// The retired keys that still verify at `now`, with their deadlines.
    static func load(_ tokens: TokenSettings, now: Int64, files: KeyFiles = KeyFiles()) throws -> [RetiredKey] {
        try entries(tokens, files: files).compactMap { entry in
            let until = deadline(retiredAt: entry.retiredAt, tokens)
            guard until > now else { return nil }
            let key = try KeySet.loadPublic(algorithm: tokens.algorithm, path: entry.path, files: files)
            guard key.kid == entry.kid else {
                throw SigningKeyError.unreadableKey(path: entry.path, reason: "holds the key with kid \(key.kid), not the kid its name gives")
            }
            return RetiredKey(key: key, retiredAt: entry.retiredAt, verifiesUntil: until)
        }
    }

    /// The files of the directory (none when it does not exist). Dot files are a rotation's
    /// temporary files; any other name that is not a retired key's stops the start, so that a key
    /// copied in by hand under the wrong name is not silently ignored.
    static func entries(_ tokens: TokenSettings, files: KeyFiles = KeyFiles()) throws -> [Entry] {
        let directory = directory(beside: tokens.signingKey)
        let names: [String]
        switch files.list(directory) {
        case .absent: return []
        case .unreadable: throw SigningKeyError.unreadableKey(path: directory, reason: "cannot list the retired keys")
        case .names(let listed): names = listed
        }
        let suffix = tokens.algorithm == .hs256 ? "key" : "pem"
        return try names.filter { !$0.hasPrefix(".") }.sorted().map { name in
            let parts = name.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[2] == suffix, !parts[1].isEmpty, let retiredAt = parseStamp(String(parts[0])) else {
                throw SigningKeyError.unreadableKey(path: directory + "/" + name, reason: """
                    not a retired key's name (<UTC time>.<kid>.\(suffix), e.g. \(fileName(kid: "KID", retiredAt: 0, algorithm: tokens.algorithm)), \
                    as rotate-key writes it)
                    """)
            }
            return Entry(path: directory + "/" + name, retiredAt: retiredAt, kid: String(parts[1]))
        }
    }

    /// `20260501T103000Z`: sorts by time, no colon in a file name.
    static func stamp(_ time: Int64) -> String {
        var seconds = time_t(time)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec)
    }

    static func parseStamp(_ text: String) -> Int64? {
        let digits = Array(text.utf8)
        guard digits.count == 16, digits[8] == UInt8(ascii: "T"), digits[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int32? {
            Int32(String(decoding: digits[range], as: UTF8.self))
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
              let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15)
        else { return nil }
        var parts = tm()
        (parts.tm_year, parts.tm_mon, parts.tm_mday) = (year - 1900, month - 1, day)
        (parts.tm_hour, parts.tm_min, parts.tm_sec) = (hour, minute, second)
        let time = Int64(timegm(&parts))
        // timegm normalises a 31st of February; a name that does not come back the same is no stamp.
        return stamp(time) == text ? time : nil
    }
}
