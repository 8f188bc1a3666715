# Independent implementation of the sender-key wire formats v1 (Python `cryptography`): regenerates
# sender_keys_golden.txt, cross-checking the Rust code.  Run: python3 sender_keys_golden.py > sender_keys_golden.txt
# The sending state is the one SenderKey::generate draws from StdRng::seed_from_u64(2026); the
# Rust test checks that too.
import hashlib, hmac, struct
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

group = b"missiva golden group"
key_id = 0x08B3BA6C
chain = bytes.fromhex("ea9afd64d0e9f94c39cf751a6f2bfacb8beb10b06871325a6011fca353fd75d9")
seed = bytes.fromhex("53e25aa3339685e413fa806f30e11d45d7356e0c5318cf8f04f28c72edfade67")
signing = Ed25519PrivateKey.from_private_bytes(seed)
public = signing.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

u32 = lambda n: struct.pack(">I", n)
state = bytes([1]) + b"S" + bytes([len(group)]) + group + u32(key_id) + u32(0) + chain + seed
distribution = bytes([1, len(group)]) + group + u32(key_id) + u32(0) + chain + public

def encrypt(chain, iteration, plaintext):
    seed = hmac.new(chain, b"\x01", hashlib.sha256).digest()
    next_chain = hmac.new(chain, b"\x02", hashlib.sha256).digest()
    okm = HKDF(algorithm=hashes.SHA256(), length=44, salt=bytes(32), info=b"Missiva sender key message v1").derive(seed)
    aad = bytes([1, len(group)]) + group + u32(key_id) + u32(iteration)
    body = bytes([1]) + u32(key_id) + u32(iteration) + AESGCM(okm[:32]).encrypt(okm[32:], plaintext, aad)
    return body + signing.sign(body), next_chain

m0, chain = encrypt(chain, 0, b"ciao a tutti")
m1, chain = encrypt(chain, 1, b"")
print(f"""# Golden vector of sender keys: state, distribution and message formats version 1.
# A change to the wire-visible protocol must change these files on purpose.
# Produced by an independent implementation (sender_keys_golden.py, Python `cryptography`:
# HMAC-SHA256, HKDF-SHA256, AESGCM, Ed25519) following crates/crypto/src/sender_keys.rs.
rng_seed = 2026
group_id = {group.decode()}
sender_state = {state.hex()}
distribution = {distribution.hex()}
message_0_plaintext = ciao a tutti
message_0 = {m0.hex()}
# message_1 encrypts the empty plaintext.
message_1 = {m1.hex()}""")
