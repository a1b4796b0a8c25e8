import CArgon2

/// Django's `argon2` hasher (argon2-cffi, Django's recommended one):
/// `argon2$argon2id$v=19$m=102400,t=2,p=8$<salt>$<hash>`, a PHC string after the first field,
/// salt and hash in unpadded base64; `argon2i` from older Django versions, `argon2d` and hashes
/// without `v=` (version 0x10) as argon2-cffi reads them.
///
/// Checked with libargon2 (Debian libargon2-dev), the reference implementation argon2-cffi itself
/// wraps: swift-crypto has no Argon2, and a hand-written one is what the reference code avoids.
/// Called through `argon2_ctx`, not `argon2_verify`, for two reasons: the memory and passes are
/// checked against the caps before anything is allocated, and the lanes are computed by one thread
/// (the digest does not depend on the thread count): a hashing slot is one core's worth, and
/// `argon2_verify` would start `p` threads.
package struct Argon2Hash: DjangoPasswordHash {
    package static let algorithms = ["argon2"]

    static let maximumMemoryKiB = DjangoPasswordHashes.maximumMemory / 1024
    /// The most work one check may do, in KiB of memory times passes: 8 passes over 256 MiB, ten
    /// times Django's default (2 passes over 100 MiB); 1.6 s of a core where measured (`HashCosts`).
    static let maximumWork = 2_097_152
    static let maximumLanes = 255
    /// Salts and digests are 16 and 32 bytes with argon2-cffi's defaults.
    static let lengths = 8...128

    package let algorithm = "argon2"
    let variant: argon2_type
    let version: UInt32
    let memoryKiB: Int
    let passes: Int
    let lanes: Int
    let salt: [UInt8]
    let digest: [UInt8]

    init(_ encoded: String) throws(UncheckableHash) {
        // argon2 $ variant $ [v=19 $] m=…,t=…,p=… $ salt $ hash
        var fields = DjangoPasswordHashes.fields(encoded).dropFirst()
        guard fields.count == 4 || fields.count == 5 else { throw .malformed(hasher: algorithm) }
        switch fields.removeFirst() {
        case "argon2id": variant = Argon2_id
        case "argon2i": variant = Argon2_i
        case "argon2d": variant = Argon2_d
        default: throw .malformed(hasher: algorithm)
        }
        if fields.count == 4 {
            switch fields.removeFirst() {
            case "v=19": version = UInt32(ARGON2_VERSION_13.rawValue)
            case "v=16": version = UInt32(ARGON2_VERSION_10.rawValue)
            default: throw .malformed(hasher: algorithm)
            }
        } else {
            version = UInt32(ARGON2_VERSION_10.rawValue)
        }
        let parameters = fields.removeFirst().split(separator: ",", omittingEmptySubsequences: false)
        guard parameters.count == 3, parameters[0].hasPrefix("m="), parameters[1].hasPrefix("t="), parameters[2].hasPrefix("p="),
              let memory = DjangoPasswordHashes.number(parameters[0].dropFirst(2), upTo: Int(UInt32.max)),
              let passes = DjangoPasswordHashes.number(parameters[1].dropFirst(2), upTo: Int(UInt32.max)),
              let lanes = DjangoPasswordHashes.number(parameters[2].dropFirst(2), upTo: Int(UInt32.max)),
              passes >= 1, lanes >= 1, memory >= 8 * lanes,
              let salt = DjangoPasswordHashes.base64(fields.removeFirst()), Self.lengths.contains(salt.count),
              let digest = DjangoPasswordHashes.base64(fields.removeFirst()), Self.lengths.contains(digest.count)
        else { throw .malformed(hasher: algorithm) }
        guard memory <= Self.maximumMemoryKiB else {
            throw .beyondCaps(hasher: algorithm, reason: "m=\(memory) KiB, at most \(Self.maximumMemoryKiB)")
        }
        guard memory * passes <= Self.maximumWork else {
            throw .beyondCaps(hasher: algorithm, reason: "m×t=\(memory * passes) KiB, at most \(Self.maximumWork)")
        }
        guard lanes <= Self.maximumLanes else { throw .beyondCaps(hasher: algorithm, reason: "p=\(lanes), at most \(Self.maximumLanes)") }
        (memoryKiB, self.passes, self.lanes, self.salt, self.digest) = (memory, passes, lanes, salt, digest)
    }

    package var cost: Int { Int((Double(memoryKiB * passes) * HashCosts.pbkdf2RoundsPerArgon2KiBPass).rounded(.up)) }

    package func matches(_ password: String) -> Bool {
        var computed = [UInt8](repeating: 0, count: digest.count)
        var password = Array(password.utf8), salt = salt
        let status = computed.withUnsafeMutableBufferPointer { out in
            password.withUnsafeMutableBufferPointer { password in
                salt.withUnsafeMutableBufferPointer { salt in
                    var context = argon2_context(
                        out: out.baseAddress, outlen: UInt32(out.count), pwd: password.baseAddress, pwdlen: UInt32(password.count),
                        salt: salt.baseAddress, saltlen: UInt32(salt.count), secret: nil, secretlen: 0, ad: nil, adlen: 0,
                        t_cost: UInt32(passes), m_cost: UInt32(memoryKiB), lanes: UInt32(lanes), threads: 1, version: version,
                        allocate_cbk: nil, free_cbk: nil, flags: 0 /* ARGON2_DEFAULT_FLAGS */)
                    return argon2_ctx(&context, variant)
                }
            }
        }
        return status == ARGON2_OK.rawValue && constantTimeEquals(computed, digest)
    }
}
