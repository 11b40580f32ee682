"""Access control lists as Redis 7.0 has them: users (users.py), the key specs that say
which arguments are keys and how they are used (keyspecs.py), and a node's ACL state and
checks (manager.py). The ACL command and AUTH live in commands/acl_cmd.py."""
