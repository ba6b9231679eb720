#!/usr/bin/env bash
# Timing ablations of int8-fa's Hopper step (docs/perf-log.md s12): source trees of COMMIT, each
# with one part of the step removed. The results are wrong on purpose; only their time is
# meant, to learn what a part costs in ptxas's real schedule rather than in instruction counts.
#   X1  no ex2 (the exponent's FFMA result taken as p)      X2  no K-scale multiply (nor loads)
#   X3  no V-scale multiply in the merge (nor loads)        X4  no row sum (a constant block sum)
#   X23 X2 and X3
# Usage: research/int8fa_ablations.sh OUT_DIR [COMMIT]   (writes OUT_DIR/X1 ... OUT_DIR/X23)
# Each variant is checked to have changed where meant; a pattern that no longer matches fails
# loudly instead of timing an unchanged kernel. Build a variant with the product CMake
# (its own build folder) and time it with `int8attn-bench profile -k int8-fa`.
set -euo pipefail
out=${1:?usage: research/int8fa_ablations.sh OUT_DIR [COMMIT]}
commit=${2:-HEAD}
cd "$(git rev-parse --show-toplevel)"
fa=kernels/int8_flash_attn.cuh ws=kernels/sm90/int8_fa_ws.cuh
edit() {  # variant file sed-expression: one line must change
  local before after
  before=$(md5sum "$out/$1/$2")
  sed -i "$3" "$out/$1/$2"
  after=$(md5sum "$out/$1/$2")
  [[ $before != "$after" ]] || { echo "$1: '$3' changed nothing in $2" >&2; exit 1; }
}
no_k_scales='s/x\[n\]\[e\] = int_score(acc\[4 \* n + e\], kRaw) \* (e \& 1 ? ks\[n\].y : ks\[n\].x);/x[n][e] = int_score(acc[4 * n + e], kRaw);  \/\/ ABLATION/'
no_v_scales='s/static_cast<float>(static_cast<int32_t>(o_acc\[4 \* n + e\])) \* (e \& 1 ? vs.y : vs.x));/static_cast<float>(static_cast<int32_t>(o_acc[4 * n + e])));  \/\/ ABLATION/'
for x in X1 X2 X3 X4 X23; do
  rm -rf "${out:?}/$x" && mkdir -p "$out/$x" && git archive "$commit" | tar -x -C "$out/$x"
done
edit X1 $fa 's/const float tv = fast_exp2(fmaf(x\[n\]\[e\], q_scale\[r\], -shift\[r\]));/const float tv = fmaf(x[n][e], q_scale[r], -shift[r]);  \/\/ ABLATION/'
edit X2 $fa "$no_k_scales"
edit X3 $ws "$no_v_scales"
# X4: softmax_rescaled (the Hopper kernels' softmax) sums no terms and adds a constant block sum.
edit X4 $fa '/softmax_rescaled(const float/,/^  }$/ s/exponentials<kRowSum>(x, shift, tp, l_block);/exponentials<false>(x, shift, tp, l_block);  \/\/ ABLATION/'
edit X4 $fa 's/if constexpr (kRowSum) l\[r\] = fmaf(l\[r\], merge_scale\[r\], l_block\[r\]);/l[r] = fmaf(l[r], merge_scale[r], 1.f);  \/\/ ABLATION/'
edit X23 $fa "$no_k_scales"
edit X23 $ws "$no_v_scales"
echo "ablation trees of $(git rev-parse --short "$commit") in $out: X1 X2 X3 X4 X23"
