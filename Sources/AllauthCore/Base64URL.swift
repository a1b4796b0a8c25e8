/// base64url without padding (RFC 7515 §2), the encoding of every JWS segment. Table-driven on
/// contiguous bytes: it runs several times per token, and Foundation's base64 plus string
/// replacement showed up in profiles, then the bounds and capacity checks of a generic loop.
package enum Base64URL {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    package static func encode<C: Collection>(_ data: C) -> String where C.Element == UInt8 {
        if let encoded = data.withContiguousStorageIfAvailable({ encode($0) }) { return encoded }
        return Array(data).withUnsafeBufferPointer { encode($0) }
    }

    static func encode(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        let length = encodedLength(bytes.count)
        guard length > 0 else { return "" }
        return String(unsafeUninitializedCapacity: length) { encode(bytes, into: $0) }
    }

    /// Appends the encoding of `bytes` to `out` (a token is written into one buffer).
    package static func append(_ bytes: [UInt8], to out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: encodedLength(bytes.count)))
        out.withUnsafeMutableBufferPointer { out in
            bytes.withUnsafeBufferPointer { _ = encode($0, into: UnsafeMutableBufferPointer(rebasing: out[start...])) }
        }
    }

    private static func encodedLength(_ count: Int) -> Int { count / 3 * 4 + [0, 2, 3][count % 3] }

    /// Writes the encoding into `out` (at least `encodedLength` long); answers its length.
    private static func encode(_ bytes: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        alphabet.withUnsafeBufferPointer { alphabet in
            var index = 0, written = 0
            while index + 3 <= bytes.count {
                let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
                out[written] = alphabet[Int(chunk >> 18 & 63)]
                out[written + 1] = alphabet[Int(chunk >> 12 & 63)]
                out[written + 2] = alphabet[Int(chunk >> 6 & 63)]
                out[written + 3] = alphabet[Int(chunk & 63)]
                index += 3
                written += 4
            }
            let rest = bytes.count - index
            if rest > 0 {
                let chunk = UInt32(bytes[index]) << 16 | (rest == 2 ? UInt32(bytes[index + 1]) << 8 : 0)
                out[written] = alphabet[Int(chunk >> 18 & 63)]
                out[written + 1] = alphabet[Int(chunk >> 12 & 63)]
                written += 2
                if rest == 2 { out[written] = alphabet[Int(chunk >> 6 & 63)]; written += 1 }
            }
            return written
        }
    }

    /// Strict: rejects characters outside the base64url alphabet, padding, impossible lengths
    /// and non-zero trailing bits (so every token has exactly one spelling).
    package static func decode<S: StringProtocol>(_ text: S) -> [UInt8]? {
        decode(Array(text.utf8)[...])
    }

    /// The same, from the bytes of a token already in memory.
    package static func decode(_ input: ArraySlice<UInt8>) -> [UInt8]? {
        input.withUnsafeBufferPointer { decode($0) }
    }

    static func decode(_ input: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard input.count % 4 != 1 else { return nil }
        let length = input.count / 4 * 3 + [0, 0, 1, 2][input.count % 4]
        return values.withUnsafeBufferPointer { values -> [UInt8]? in
            var valid = true
            let out = [UInt8](unsafeUninitializedCapacity: length) { out, initialized in
                var accumulator: UInt32 = 0
                var bits = 0
                var written = 0
                for byte in input {
                    let value = values[Int(byte)]
                    guard value != 0xFF else { valid = false; break }
                    accumulator = accumulator << 6 | UInt32(value)
                    bits += 6
                    if bits >= 8 {
                        bits -= 8
                        out[written] = UInt8(truncatingIfNeeded: accumulator >> UInt32(bits))
                        written += 1
                    }
                }
                if valid && accumulator & ((1 << UInt32(bits)) - 1) != 0 { valid = false }
                initialized = valid ? written : 0
            }
            return valid ? out : nil
        }
    }
}
