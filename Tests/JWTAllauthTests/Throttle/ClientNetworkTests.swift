import Testing
@testable import AllauthDomain

/// What the limits count a client by.
struct ClientNetworkTests {
    @Test func anIPv4AddressCountsWhole() {
        #expect(ClientNetwork.of("203.0.113.7") == "203.0.113.7")
        #expect(ClientNetwork.of("203.0.113.8") != ClientNetwork.of("203.0.113.7"))
    }

    @Test func anIPv6AddressCountsByItsSlash64() {
        let one = ClientNetwork.of("2001:db8:1:2:aaaa:bbbb:cccc:dddd")
        #expect(one == "2001:db8:1:2::/64")
        #expect(ClientNetwork.of("2001:db8:1:2::1") == one, "another address of the same subscriber's block")
        #expect(ClientNetwork.of("2001:0DB8:0001:0002:0:0:0:ffff") == one, "spelt another way")
        #expect(ClientNetwork.of("2001:db8:1:3::1") != one)
    }

    @Test func anIPv4AddressSeenThroughIPv6IsThatAddress() {
        #expect(ClientNetwork.of("::ffff:203.0.113.7") == "203.0.113.7")
        #expect(ClientNetwork.of("::ffff:203.0.113.8") != ClientNetwork.of("::ffff:203.0.113.7"))
    }

    @Test func anythingElseIsItsOwnKey() {
        #expect(ClientNetwork.of("") == "")
        #expect(ClientNetwork.of("unix:") == "unix:")
        #expect(ClientNetwork.of("fe80::1%eth0") == "fe80::1%eth0")
    }
}
