"""お知らせ送信担当 (the departments that send notices): notices, destination files (宛先ファイル),
screening against the exclusion list, and sending jobs through the intermediate server's gate."""
