package ntlm

import (
	"crypto"
	"crypto/md5"
	"crypto/x509"
	"encoding/binary"
)

// TLSServerEndPoint returns the RFC 5929 "tls-server-end-point" channel
// binding data of a server certificate: the certificate's DER hashed with the
// hash function of its signature algorithm, where MD5 and SHA-1 are replaced
// by SHA-256 (RFC 5929 §4.1). Algorithms without a single hash (Ed25519)
// use SHA-256.
func TLSServerEndPoint(cert *x509.Certificate) []byte {
	h := crypto.SHA256
	switch cert.SignatureAlgorithm {
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384, x509.SHA384WithRSAPSS:
		h = crypto.SHA384
	case x509.SHA512WithRSA, x509.ECDSAWithSHA512, x509.SHA512WithRSAPSS:
		h = crypto.SHA512
	}
	w := h.New()
	w.Write(cert.Raw)
	return w.Sum(nil)
}

// ChannelBindingHash returns the 16-byte value of the MsvAvChannelBindings
// AV pair: MD5 of a gss_channel_bindings_struct (RFC 2744 §3.11) whose
// initiator and acceptor addresses are empty (type 0, length 0) and whose
// application data is "tls-server-end-point:" followed by
// TLSServerEndPoint(cert). All lengths are 32-bit little-endian.
func ChannelBindingHash(cert *x509.Certificate) []byte {
	return channelBindingHashOf(TLSServerEndPoint(cert))
}

func channelBindingHashOf(endPoint []byte) []byte {
	app := append([]byte("tls-server-end-point:"), endPoint...)
	var gss []byte
	gss = binary.LittleEndian.AppendUint32(gss, 0) // initiator_addrtype
	gss = binary.LittleEndian.AppendUint32(gss, 0) // initiator_address.length
	gss = binary.LittleEndian.AppendUint32(gss, 0) // acceptor_addrtype
	gss = binary.LittleEndian.AppendUint32(gss, 0) // acceptor_address.length
	gss = binary.LittleEndian.AppendUint32(gss, uint32(len(app)))
	gss = append(gss, app...)
	sum := md5.Sum(gss)
	return sum[:]
}
