# bash completion for camwatch(8)                                  -*- shell-script -*-
#
# Installed as share/bash-completion/completions/camwatch (bash-completion loads it on first use);
# also works sourced on its own, without the bash-completion package. Commands and options are
# those of `camwatch --help` (daemon/src/cli.cc); tests/e2e/install_tree.sh keeps them equal.

# Prints the words up to the cursor one per line, with the pieces bash splits at '=' (it is in
# COMP_WORDBREAKS) joined again: "--uplink" "a" "=" "x.pc" -> "--uplink" "a=x.pc".
_camwatch_words() {
    local i word joined=() glue=0
    for ((i = 0; i <= COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]-}
        if ((${#joined[@]} > 0)) && { [[ $word == = ]] || ((glue)); }; then
            joined[${#joined[@]} - 1]+=$word
        else
            joined+=("$word")
        fi
        glue=0
        [[ $word == = ]] && glue=1
    done
    printf '%s\n' "${joined[@]}"
}

# Adds to COMPREPLY the words of a list, or file names, that complete value. The part of the
# current word before value (as in "--sort=" or "NAME=") is added back to each, unless bash splits
# words at '=' and so only replaces the part after it.
_camwatch_reply() {  # cur value [words]: no words means file names
    local before=${1%"$2"} name
    [[ $COMP_WORDBREAKS == *=* && $before == *= ]] && before=""
    if (($# > 2)); then
        while IFS= read -r name; do COMPREPLY+=("$before$name"); done < <(compgen -W "$3" -- "$2")
    else
        compopt -o filenames 2>/dev/null  # quoting, and a '/' after directories
        while IFS= read -r name; do COMPREPLY+=("$before$name"); done < <(compgen -f -- "$2")
    fi
}

_camwatch() {
    COMPREPLY=()
    local words=() line
    while IFS= read -r line; do words+=("$line"); done < <(_camwatch_words)
    local cword=$((${#words[@]} - 1))
    local cur=${words[cword]} prev=""
    ((cword > 0)) && prev=${words[cword - 1]}

    local commands="run replay check-config table"
    local command="" i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            run | replay | check-config | table) command=${words[i]}; break ;;
        esac
    done

    if [[ -z $command ]]; then
        if [[ $cur == -* ]]; then
            _camwatch_reply "$cur" "$cur" "-h --help -V --version"
        elif ((cword == 1)); then
            _camwatch_reply "$cur" "$cur" "$commands"
        fi
        return 0
    fi

    # An option's value, given as "--opt VALUE" or "--opt=VALUE".
    local option="" value=$cur
    if [[ $cur == --*=* ]]; then
        option=${cur%%=*}
        value=${cur#*=}
    elif [[ $prev == --* && $prev != *=* ]]; then
        option=$prev
    fi
    case $command:$option in
        *:--config | replay:--events | replay:--table | replay:--collector | table:--state | table:--socket)
            [[ $command:$option == replay:--events ]] && _camwatch_reply "$cur" "$value" "-"
            _camwatch_reply "$cur" "$value"
            return 0
            ;;
        table:--sort)
            _camwatch_reply "$cur" "$value" "last-move last-seen first-seen mac vlan uplink"
            return 0
            ;;
        replay:--uplink)
            # NAME=FILE: the name is the user's to choose; after the '=' comes a capture file.
            [[ $value == *=* ]] && _camwatch_reply "$cur" "${value#*=}"
            return 0
            ;;
        table:--uplink | table:--vlan | table:--limit)
            return 0  # a name or a number: nothing to offer
            ;;
    esac

    local options
    case $command in
        run | check-config) options="--config --help" ;;
        replay) options="--uplink --collector --config --events --table --help" ;;
        table) options="--json --sort --uplink --vlan --moved --limit --bindings --failovers --config --socket --state --help" ;;
    esac
    # Options already given are not offered again, except replay's repeatable --uplink and --collector.
    local offered=() o used
    for o in $options; do
        used=0
        for ((i = 1; i < cword; i++)); do
            [[ ${words[i]} == "$o" || ${words[i]} == "$o"=* ]] && used=1
        done
        [[ $command:$o == replay:--uplink || $command:$o == replay:--collector ]] && used=0
        ((used)) || offered+=("$o")
    done
    _camwatch_reply "$cur" "$cur" "${offered[*]}"
    return 0
}

complete -F _camwatch camwatch
