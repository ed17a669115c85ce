echo hello-from-script-file
