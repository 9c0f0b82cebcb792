#!/usr/bin/env bash
# The mobile flow with curl: register, send a batch, resend it (as after a lost
# answer), read the wallet.   BASE_URL=http://127.0.0.1:8080 bash examples/mobile-flow.sh
set -euo pipefail
BASE_URL=${BASE_URL:-http://127.0.0.1:8080}
json() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }

email="mobile-$(date +%s%N)@example.com"
tokens=$(curl -sS --fail-with-body -X POST "$BASE_URL/auth/register" \
  -H 'content-type: application/json' -d "{\"email\":\"$email\",\"password\":\"mobile password 1\"}")
user_id=$(echo "$tokens" | json user_id)
access_token=$(echo "$tokens" | json access_token)
echo "registered $user_id"

now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
batch="{\"user_id\":\"$user_id\",\"game_id\":\"com.example.mygame\",\"events\":[
  {\"type\":\"AppOpen\",\"timestamp\":\"$now\",\"event_id\":\"open-1\"},
  {\"type\":\"LevelCompleted\",\"timestamp\":\"$now\",\"customdata\":{\"level\":1},\"event_id\":\"level-1\"}]}"

for attempt in 1 2; do
  status=$(curl -sS -o /tmp/playsmart-ingest.$$ -w '%{http_code}' -X POST "$BASE_URL/ingest/events" \
    -H "authorization: Bearer $access_token" -H 'content-type: application/json' -d "$batch")
  echo "ingest attempt $attempt: $status $(cat /tmp/playsmart-ingest.$$)"
  [ "$status" = 202 ] || exit 1
done
rm -f /tmp/playsmart-ingest.$$

echo "wallet: $(curl -sS --fail-with-body "$BASE_URL/wallet" -H "authorization: Bearer $access_token")"
