// Names of the op codes as this build of the shim numbers them, so a test can compare them with the
// C# enums of the assembly that loaded it (both come from opcodes.def; a stale build would disagree).
#include <cstring>
#include "shim.h"

namespace {
const char* const kUnary[] = {
#define DT_UNARY(cpp, cs) #cs,
#include "opcodes.def"
};
const char* const kBinary[] = {
#define DT_BINARY(cpp, cs) #cs,
#include "opcodes.def"
};
const char* const kReduce[] = {
#define DT_REDUCE(cpp, cs) #cs,
#include "opcodes.def"
};

template <size_t N>
const char* nth(const char* const (&names)[N], int32_t code) { return code >= 0 && static_cast<size_t>(code) < N ? names[code] : nullptr; }
}  // namespace

// Writes the C# name of code in the enum named enum_name ("UnaryOp", "BinaryOp", "ReduceOp"), or null past its end.
DT_API int dt_opcode_name(const char* enum_name, int32_t code, const char** name) {
  DT_TRY(
    if (std::strcmp(enum_name, "UnaryOp") == 0) *name = nth(kUnary, code);
    else if (std::strcmp(enum_name, "BinaryOp") == 0) *name = nth(kBinary, code);
    else if (std::strcmp(enum_name, "ReduceOp") == 0) *name = nth(kReduce, code);
    else TORCH_CHECK(false, "no op-code enum named ", enum_name))
}
