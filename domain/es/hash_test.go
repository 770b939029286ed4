package es_test

import (
	"crypto/sha256"
	"encoding/binary"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain/es"
)

// chainHashByFields is ChainHash as first written, field by field into a
// hash.Hash: every hash ever stored was made this way, so ChainHash must give the
// very same bytes (SPEC H4).
func chainHashByFields(prev es.Hash, stream string, revision uint64, id uuid.UUID, typ string, data []byte, md es.Metadata) es.Hash {
	h := sha256.New()
	var buf [binary.MaxVarintLen64]byte
	str := func(s string) {
		n := binary.PutUvarint(buf[:], uint64(len(s)))
		h.Write(buf[:n])
		h.Write([]byte(s))
	}
	str("sleutel.h4.v1")
	h.Write(prev[:])
	str(stream)
	binary.BigEndian.PutUint64(buf[:8], revision)
	h.Write(buf[:8])
	h.Write(id[:])
	str(typ)
	n := binary.PutUvarint(buf[:], uint64(len(data)))
	h.Write(buf[:n])
	h.Write(data)
	str(md.Actor)
	str(md.CorrelationID)
	str(md.CausationID)
	keys := make([]string, 0, len(md.Extra))
	for k := range md.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	n = binary.PutUvarint(buf[:], uint64(len(keys)))
	h.Write(buf[:n])
	for _, k := range keys {
		str(k)
		str(md.Extra[k])
	}
	var out es.Hash
	h.Sum(out[:0])
	return out
}

func TestChainHashAsFirstWritten(t *testing.T) {
	t.Parallel()
	id := uuid.New()
	for _, size := range []int{0, 1, 100, 1900, 2048, 5000, 200_000} {
		data := []byte(strings.Repeat("x", size))
		md := es.Metadata{Actor: "account:a", CorrelationID: "c", CausationID: "d", Extra: map[string]string{"b": "2", "a": "1"}}
		require.Equal(t, chainHashByFields(es.Hash{9}, "lock-1", 7, id, "lock.frozen", data, md),
			es.ChainHash(es.Hash{9}, "lock-1", 7, id, "lock.frozen", data, md), "payload of %d bytes", size)
	}
}

func FuzzChainHashAsFirstWritten(f *testing.F) {
	f.Add("lock-1", uint64(0), "lock.frozen", []byte(`{}`), "account:x", "c", "", "k", "v")
	f.Fuzz(func(t *testing.T, stream string, rev uint64, typ string, data []byte, actor, corr, caus, k, v string) {
		md := es.Metadata{Actor: actor, CorrelationID: corr, CausationID: caus}
		if k != "" {
			md.Extra = map[string]string{k: v, k + "2": v}
		}
		id := uuid.NewSHA1(uuid.NameSpaceOID, data)
		prev := es.Hash(sha256.Sum256([]byte(stream)))
		if chainHashByFields(prev, stream, rev, id, typ, data, md) != es.ChainHash(prev, stream, rev, id, typ, data, md) {
			t.Fatalf("ChainHash differs from the hash as first written")
		}
	})
}
