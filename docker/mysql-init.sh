#!/usr/bin/env bash
# Create the application user with only the privileges the job needs (run once by the mysql
# image on an empty data directory).
set -euo pipefail
mysql -uroot -p"${MYSQL_ROOT_PASSWORD}" <<SQL
CREATE USER IF NOT EXISTS '${USERSTREAM_MYSQL_USER}'@'%' IDENTIFIED BY '${USERSTREAM_MYSQL_PASSWORD}';
GRANT SELECT, INSERT, UPDATE, DELETE ON \`${MYSQL_DATABASE}\`.* TO '${USERSTREAM_MYSQL_USER}'@'%';
SQL
