import Foundation

/// A stored password hash in one of Django's formats, decoded: one type per hasher family
/// (`PBKDF2Hash`, `Argon2Hash`, `BCryptHash`, `ScryptHash`), as jwt-kit keeps one type per
/// algorithm. Decoding refuses parameters past the caps each type names, so that no stored row,
/// however it got there, makes one login take more memory or time than those caps allow.
package protocol DjangoPasswordHash: Sendable {
    /// Django's name of the hasher, the hash's first field (`argon2`, `bcrypt_sha256`, …).
    var algorithm: String { get }
    /// What one check costs, in rounds of PBKDF2-SHA256 (an estimate for the other algorithms,
    /// on the high side): what every failed login costs while this hash is stored
    /// (`StoredRoundsCeiling`), so that its account does not answer a wrong password more slowly.
    var cost: Int { get }
    /// Whether `password` is the password hashed (the digests compared in constant time).
    func matches(_ password: String) -> Bool
}

/// Why a stored hash is not checked. Such a hash never matches; the import reports its row.
package enum UncheckableHash: Error, Equatable, CustomStringConvertible {
    /// Django's unusable password (`!…`): none was ever set, or it was disabled.
    case unusable
    /// A hasher this service does not check (`md5`, `sha1`, `unsalted_md5`, `crypt`, …).
    case unknownHasher(String)
    /// The hasher's name, but not a hash it writes (a field missing, bad base64, a tampered length).
    case malformed(hasher: String)
    /// Parameters past what one login may cost (the caps of each hash type).
    case beyondCaps(hasher: String, reason: String)

    package var description: String {
        switch self {
        case .unusable: "no usable password"
        case .unknownHasher(let name): "hasher \(name) is not supported"
        case .malformed(let name): "malformed \(name) hash"
        case .beyondCaps(let name, let reason): "\(name) hash beyond the caps: \(reason)"
        }
    }
}

/// The formats a stored hash may have, by Django's hasher names.
package enum DjangoPasswordHashes {
    /// The most memory one check may take (argon2's m, scrypt's 128·N·r): 256 MiB, 2.5 times
    /// Django's argon2 default (100 MiB) and 16 times its scrypt default. A hashing slot holds it
    /// for the check's duration, so the pool needs at most this much per slot
    /// (`accounts.hashing_concurrency`), whatever a stored row asks for.
    static let maximumMemory = 256 << 20

    /// Every hasher name this service checks.
    package static let supported = PBKDF2Hash.algorithms + Argon2Hash.algorithms + BCryptHash.algorithms + ScryptHash.algorithms

    /// `encoded` decoded, or why it cannot be checked.
    package static func decode(_ encoded: String) throws(UncheckableHash) -> any DjangoPasswordHash {
        if encoded.hasPrefix(PasswordHasher.unusablePrefix) { throw .unusable }
        let name = hasherName(of: encoded)
        if PBKDF2Hash.algorithms.contains(name) { return try PBKDF2Hash(encoded) }
        if Argon2Hash.algorithms.contains(name) { return try Argon2Hash(encoded) }
        if BCryptHash.algorithms.contains(name) { return try BCryptHash(encoded) }
        if ScryptHash.algorithms.contains(name) { return try ScryptHash(encoded) }
        throw .unknownHasher(name.isEmpty ? "(none)" : name)
    }

    /// Django's name for the hasher of `encoded`, as its `identify_hasher` finds it: the first
    /// field, or the unsalted MD5 and SHA-1 of very old Django versions, which have none.
    package static func hasherName(of encoded: String) -> String {
        if (encoded.utf8.count == 32 && !encoded.contains("$")) || (encoded.utf8.count == 37 && encoded.hasPrefix("md5$$")) {
            return "unsalted_md5"
        }
        if encoded.utf8.count == 46 && encoded.hasPrefix("sha1$$") { return "unsalted_sha1" }
        return String(encoded.prefix { $0 != "$" }.prefix(32))
    }

    /// The `$`-separated fields of `encoded`, empty ones included.
    static func fields(_ encoded: String) -> [Substring] {
        encoded.split(separator: "$", omittingEmptySubsequences: false)
    }

    /// A decimal field of digits only (no sign, no spaces), at most `limit`.
    static func number(_ text: Substring, upTo limit: Int) -> Int? {
        guard !text.isEmpty, text.count <= 10, text.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(text), value <= limit else {
            return nil
        }
        return value
    }

    /// Standard base64 (`+/`), padded or not (the PHC strings of argon2 drop the padding).
    static func base64(_ text: Substring) -> [UInt8]? {
        guard !text.isEmpty else { return nil }
        let padded = text.hasSuffix("=") ? String(text) : String(text) + String(repeating: "=", count: (4 - text.count % 4) % 4)
        return Data(base64Encoded: padded).map(Array.init)
    }
}
