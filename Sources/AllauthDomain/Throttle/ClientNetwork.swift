import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What the limits count a client by: an IPv4 address whole, an IPv6 address by its /64 network,
/// the block one subscriber is usually given. Counted by the full IPv6 address, a client could walk
/// through its 2^64 addresses and find a fresh budget at each one.
package enum ClientNetwork {
    /// `address`: nginx's `REMOTE_ADDR` (after realip). Anything that is no IP address (a unix
    /// socket, an empty string from the command line) is its own key.
    package static func of(_ address: String) -> String {
        guard address.contains(":") else { return address }
        var parsed = in6_addr()
        guard inet_pton(AF_INET6, address, &parsed) == 1 else { return address }
        let bytes = withUnsafeBytes(of: &parsed) { Array($0) }
        // An IPv4 client seen through an IPv6 socket (::ffff:a.b.c.d) is that IPv4 address.
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
            return bytes[12..<16].map(String.init).joined(separator: ".")
        }
        let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
        return groups.joined(separator: ":") + "::/64"
    }
}
