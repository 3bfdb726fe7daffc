#!/usr/bin/env bash
# SGVLM's pixel path end to end at smoke size: the commands of the README's SGVLM section
# with the small settings below (50 videos, 1-10 epochs, tiny widths), each stage under a
# minute on 2 CPU cores. It ends in an `ask` whose evidence lists scene-graph triplets.
# The models are trained on 35 videos: the answer exercises the pipeline, it is not a
# measurement (full size: the shipped configs, as in the README).
#
#   bash experiments/sgvlm/pixel_path.sh /tmp/sgvlm_path      # DIR must be new or empty
#   VIDEOQA=.venv/bin/videoqa bash experiments/sgvlm/pixel_path.sh DIR
set -euo pipefail

DIR=${1:-/tmp/sgvlm_path}
VIDEOQA=${VIDEOQA:-videoqa}
VIDEOQA=$(realpath "$(command -v "$VIDEOQA")")
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
if [ -d "$DIR" ] && [ -n "$(ls -A "$DIR")" ]; then
    echo "error: $DIR is not empty" >&2
    exit 2
fi
mkdir -p "$DIR"
cd "$DIR"

stage() {  # stage NAME ARGS...: run `videoqa ARGS` and print its wall time
    local name=$1 start=$SECONDS
    shift
    echo "+ videoqa $*" >&2
    nice -n 5 "$VIDEOQA" "$@"
    echo "[$name: $((SECONDS - start)) s]" >&2
}

stage synth data synth --out data/synth --videos 50 --seed 0
stage frame-encoder train --recipe frame-encoder --config cnn_frame_encoder \
    --set epochs=2 --set 'model.channels=[8,16,24,32]' --set model.embed_dim=64 --set model.patch_dim=16
stage features extract features --annotations data/synth --split all \
    --encoder cnn:runs/frame_encoder/checkpoints/best --frames 16 --patches --out data/cnn16
stage sg-predictor train --recipe sg-predictor --config sg_predictor \
    --set epochs=10 --set model.trunk_channels=16 --set model.region_dim=64 --set model.hidden_size=48 \
    --set sg-predictor.threads=1
stage scene-graphs extract scene-graphs --annotations data/synth \
    --predictor runs/sg_predictor/checkpoints/best --like data/cnn16 --out data/sg_tokens_cnn16
stage new-llm models new-llm --annotations data/synth --out data/llm --hidden 32 --layers 1 --heads 2
stage localizer train --recipe localizer --config localizer_synth_pixels \
    --set epochs=2 --set model.hidden_size=32 --set model.num_heads=2 --set model.num_layers=1 \
    --set model.temporal_layers=1 --set scheduler.warmup_steps=2
stage sgvlm train --recipe sgvlm --config sgvlm_pixels --set epochs=2 \
    --set 'model.config.qformer={"hidden_size":32,"num_heads":2,"num_layers":1,"intermediate_size":64,"num_queries":4}'
stage ask ask data/synth/videos/test_00000.mp4 "Where is the square relative to the star at 2.38 s?" \
    --choices "above it" "below it" "to the left of it" "to the right of it" "touching it" \
    --model sgvlm:runs/sgvlm_pixels/checkpoints/best --top-k 3
