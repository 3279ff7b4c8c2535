#!/bin/sh
# seed-sql.sh DIR: statements of the shapes the summary recognises.
set -eu
dir=$1
i=0
while IFS= read -r stmt; do
	i=$((i + 1))
	printf '%s' "$stmt" >"$dir/stmt-$i"
done <<'EOF_SEEDS'
SELECT id, name FROM items WHERE id = $1
/* c /* nested */ */ insert or replace into "Kv"."t" (k) values (?)
WITH RECURSIVE t(n) AS (VALUES (1) UNION ALL SELECT n + 1 FROM t) SELECT * FROM t
UPDATE ONLY `db`.`items` SET a = 'x''y' -- done
DELETE FROM [dbo].[Items]; SELECT $tag$ ) $tag$ FROM x
CREATE TEMPORARY TABLE IF NOT EXISTS s (x int)
*github.com/jackc/pgx/v5/stdlib.Conn
EOF_SEEDS
